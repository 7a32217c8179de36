import { extractFromJson } from '../../core/index.ts';
import { type NormalizedAlert, SEVERITY_ID, severityFromAny } from '../model.ts';
import { contentKey, field, firstText, limit, parseTime, requireObject, stringList, techniquesIn } from './shared.ts';

/**
 * Elastic Security detection alerts as a Kibana Webhook connector posts them: the alert document (ECS
 * fields such as source.ip, host.name, user.name plus kibana.alert.* fields), nested or flattened.
 * Arrays of alerts, or `{alerts: [...]}`, are split by the intake before they reach this adapter.
 */
export function adaptElastic(payload: unknown, receivedAt: number): NormalizedAlert {
  const doc = requireObject(payload, 'Elastic alert');
  const ruleName = firstText(doc, 'kibana.alert.rule.name', 'signal.rule.name', 'rule.name') ?? 'Elastic Security alert';
  let severity = severityFromAny(firstText(doc, 'kibana.alert.severity', 'signal.rule.severity', 'event.severity'));
  if (severity === undefined) {
    const risk = Number(firstText(doc, 'kibana.alert.risk_score', 'signal.rule.risk_score'));
    // Elastic's own risk-score bands: 0-21 low, 22-47 medium, 48-73 high, 74-100 critical.
    if (Number.isFinite(risk)) severity = risk >= 74 ? 'critical' : risk >= 48 ? 'high' : risk >= 22 ? 'medium' : 'low';
  }
  severity ??= 'medium';
  const uid = firstText(doc, 'kibana.alert.uuid', '_id', 'signal.id') ?? null;
  return {
    source: 'elastic',
    time: parseTime(field(doc, 'kibana.alert.original_time')) ?? parseTime(field(doc, '@timestamp')) ?? receivedAt,
    severity,
    severity_id: SEVERITY_ID[severity],
    title: limit(firstText(doc, 'kibana.alert.rule.name', 'kibana.alert.reason') ?? ruleName, 500),
    description: firstText(doc, 'kibana.alert.reason', 'kibana.alert.rule.description', 'message') ?? '',
    rule: { name: limit(ruleName, 500), uid: firstText(doc, 'kibana.alert.rule.rule_id', 'kibana.alert.rule.uuid', 'rule.id') ?? null },
    product: { name: 'Elastic Security', vendor: 'Elastic' },
    uid,
    dedup_key: uid ?? contentKey(doc),
    url: firstText(doc, 'kibana.alert.url') ?? null,
    observables: extractFromJson(doc, { skip: (path) => /^(kibana|signal|event|agent|ecs|elastic_agent|data_stream|_)/.test(path) || path === '@timestamp' }),
    techniques: techniquesIn(field(doc, 'kibana.alert.rule.threat'), field(doc, 'threat')),
    tags: stringList(field(doc, 'kibana.alert.rule.tags')),
    raw: payload,
  };
}
