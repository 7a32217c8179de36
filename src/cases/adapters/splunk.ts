import { extractFromJson, invalidInput } from '../../core/index.ts';
import { type NormalizedAlert, SEVERITY_ID, severityFromAny } from '../model.ts';
import { contentKey, field, firstText, limit, parseTime, requireObject, stringList, techniquesIn } from './shared.ts';

/** Splunk internals that carry no indicator worth a case (and would add noise). */
const SPLUNK_INTERNAL =
  /^(_cd|_bkt|_si|_indextime|_serial|_sourcetype|splunk_server|linecount|punct|timestartpos|timeendpos|date_\w+|eventtype|index|source|sourcetype|tag::\w+|info_\w+|search_now|orig_sid|orig_rid)$/;

/**
 * Splunk's webhook alert action: `{result: <first result row>, sid, results_link, search_name, owner, app}`.
 * Enterprise Security notables arrive the same way with ES fields in `result` (rule_name, rule_title,
 * urgency, src, dest, user, event_id, annotations.mitre_attack …).
 */
export function adaptSplunk(payload: unknown, receivedAt: number): NormalizedAlert {
  const body = requireObject(payload, 'Splunk payload');
  if (body.result === null || typeof body.result !== 'object' || Array.isArray(body.result)) {
    throw invalidInput('Splunk payload.result must be an object (the webhook alert action sends the first result row there)', { field: 'result' });
  }
  const result = body.result as Record<string, unknown>;
  const searchName = firstText(body, 'search_name');
  const title = firstText(result, 'rule_title', 'rule_name', 'search_name', 'signature', 'title') ?? searchName ?? 'Splunk alert';
  const ruleName = firstText(result, 'rule_name', 'search_name', 'savedsearch_name') ?? searchName ?? title;
  const severity = severityFromAny(firstText(result, 'urgency', 'severity', 'priority')) ?? 'medium';
  const eventId = firstText(result, 'event_id', 'notable_id', 'alert_id');
  const sid = firstText(body, 'sid');
  return {
    source: 'splunk',
    time: parseTime(field(result, '_time')) ?? receivedAt,
    severity,
    severity_id: SEVERITY_ID[severity],
    title: limit(title, 500),
    description: firstText(result, 'rule_description', 'description', 'message') ?? '',
    rule: { name: limit(ruleName, 500), uid: firstText(result, 'rule_id', 'savedsearch_name') ?? searchName ?? null },
    product: { name: eventId || firstText(result, 'rule_name') ? 'Splunk Enterprise Security' : 'Splunk', vendor: 'Splunk' },
    uid: eventId ?? sid ?? null,
    dedup_key: eventId ?? sid ?? contentKey(body),
    url: firstText(body, 'results_link') ?? null,
    observables: extractFromJson(result, { skip: (path) => SPLUNK_INTERNAL.test(path) }).map((o) => ({ ...o, field: `result.${o.field}` })),
    techniques: techniquesIn(field(result, 'annotations.mitre_attack'), field(result, 'annotations'), field(result, 'mitre_technique_id')),
    tags: stringList(field(result, 'security_domain')).concat(stringList(field(body, 'app')).map((a) => `splunk-app:${a}`)),
    raw: payload,
  };
}
