import { extractFromJson, extractFromText, invalidInput, isObservableType, normalizeObservable, RiposteError } from '../../core/index.ts';
import { type NormalizedAlert, SEVERITY_ID, severityFromAny } from '../model.ts';
import { contentKey, limit, merge, parseTime, requireObject, stringList, techniquesIn, text } from './shared.ts';

/**
 * Riposte's own alert format, for scripts and any tool that can template JSON:
 * { title, severity, time?, description?, rule?: {name, uid} | rule_name, product?, id?, dedup_key?,
 *   url?, observables?: [{type, value}], techniques?, tags?, data?: {...vendor event...} }
 */
export function adaptGeneric(payload: unknown, receivedAt: number, where = 'alert'): NormalizedAlert {
  const body = requireObject(payload, where);
  const title = text(body.title) ?? text(body.name);
  if (title === undefined) throw invalidInput(`${where}.title is required (a short summary of what was detected)`, { field: `${where}.title` });
  const severity = body.severity === undefined ? 'medium' : severityFromAny(body.severity);
  if (severity === undefined) {
    throw invalidInput(
      `${where}.severity must be one of informational, low, medium, high, critical (or an OCSF severity_id 1-6); got ${JSON.stringify(body.severity)}`,
      {
        field: `${where}.severity`,
      },
    );
  }
  let time = receivedAt;
  if (body.time !== undefined) {
    const parsed = parseTime(body.time);
    if (parsed === undefined) throw invalidInput(`${where}.time must be an ISO 8601 date-time or epoch seconds/milliseconds`, { field: `${where}.time` });
    time = parsed;
  }
  const rule = body.rule !== null && typeof body.rule === 'object' ? (body.rule as Record<string, unknown>) : {};
  const ruleName = text(rule.name) ?? text(body.rule_name) ?? (typeof body.rule === 'string' ? body.rule : undefined) ?? title;
  const ruleUid = text(rule.uid) ?? text(rule.id) ?? text(body.rule_id) ?? null;

  const explicit = [];
  if (body.observables !== undefined) {
    if (!Array.isArray(body.observables)) throw invalidInput(`${where}.observables must be an array of {type, value}`, { field: `${where}.observables` });
    for (const [i, item] of body.observables.entries()) {
      const at = `${where}.observables[${i}]`;
      if (item === null || typeof item !== 'object') throw invalidInput(`${at} must be an object {type, value}`, { field: at });
      const { type, value } = item as { type?: unknown; value?: unknown };
      if (!isObservableType(type)) throw invalidInput(`${at}.type ${JSON.stringify(type)} is not a known observable type`, { field: `${at}.type` });
      if (typeof value !== 'string') throw invalidInput(`${at}.value must be a string`, { field: `${at}.value` });
      try {
        explicit.push({ type, value: normalizeObservable(type, value), field: at });
      } catch (error) {
        throw new RiposteError('input.invalid', `${at}: ${(error as Error).message}`, { status: 400, details: { field: `${at}.value` } });
      }
    }
  }
  const description = text(body.description) ?? '';
  const data = body.data ?? body.raw ?? body.event;
  const product = text(body.product) ?? text(body.source_product) ?? 'generic';
  const id = text(body.id) ?? text(body.uid) ?? null;
  const techniques = techniquesIn(body.techniques, body.technique, data && typeof data === 'object' ? (data as Record<string, unknown>).techniques : undefined);
  return {
    source: 'generic',
    time,
    severity,
    severity_id: SEVERITY_ID[severity],
    title: limit(title, 500),
    description,
    rule: { name: limit(ruleName, 500), uid: ruleUid },
    product: { name: product, vendor: text(body.vendor) ?? product },
    uid: id,
    dedup_key: text(body.dedup_key) ?? id ?? contentKey(body),
    url: text(body.url) ?? null,
    observables: merge(
      explicit,
      data === undefined ? [] : extractFromJson(data).map((o) => ({ ...o, field: `data.${o.field}` })),
      extractFromText(description, 'description'),
    ),
    techniques,
    tags: stringList(body.tags),
    raw: payload,
  };
}
