import { createHash } from 'node:crypto';
import type { AttackCatalog } from '../attack/catalog.ts';
import { TLP_MARKINGS, type TlpLevel } from './stix-objects.ts';

/**
 * A case as a STIX 2.1 bundle, for sharing over TAXII: the case is a `report` whose object_refs name
 * everything else; observables become SCOs; observables with a malicious or suspicious verdict become
 * `indicator`s; alerts become `sighting`s of those indicators (or of the ATT&CK technique they name); ATT&CK
 * techniques become `attack-pattern`s (MITRE's own ids) linked by `relationship`s; every object carries the
 * case's TLP 2.0 marking.
 *
 * Ids are deterministic — SCOs by the specification's UUIDv5 rule, the rest derived from our own ids — so
 * exporting the same case again yields new versions of the same objects rather than duplicates.
 *
 * The input is a plain shape (this module does not know the cases module); app/ or server/ fill it in.
 */
export interface CaseStixInput {
  case: {
    id: string;
    number: number;
    title: string;
    description: string;
    severity: string;
    status: string;
    tlp: TlpLevel;
    techniques: string[];
    created_at: string;
    updated_at: string;
  };
  observables: Array<{
    id: string;
    type: string;
    value: string;
    verdict: string | null;
    confidence: number | null;
    first_seen_at: string;
    last_seen_at: string;
    enriched_at: string | null;
  }>;
  alerts: Array<{
    id: string;
    title: string;
    time: number;
    received_at: string | null;
    last_seen_at: string | null;
    count: number;
    observables: Array<{ type: string; value: string }>;
    techniques: string[];
  }>;
}

/** The namespace the STIX 2.1 specification (§2.9) fixes for deterministic SCO ids. */
const SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** Our own fixed namespace for ids derived from Riposte ids (cases, observables, alerts). */
const RIPOSTE_NAMESPACE = '6f1b8c1e-3c1e-5b9a-9a4e-2f6c7d8e9a01';

function uuidv5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The STIX 2.1 deterministic id of an SCO: UUIDv5 over the canonical JSON (RFC 8785; for these flat
 * string-valued objects: keys sorted, no whitespace) of its id-contributing properties.
 */
export function scoId(type: string, contributing: Record<string, unknown>): string {
  return `${type}--${uuidv5(SCO_NAMESPACE, canonicalJson(contributing))}`;
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const derivedId = (type: string, key: string) => `${type}--${uuidv5(RIPOSTE_NAMESPACE, key)}`;

const HASH_NAMES: Record<string, string> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256' };

/** Our observable → its SCO and the STIX pattern that matches it; undefined for types STIX has no SCO for. */
export function scoForObservable(type: string, value: string): { sco: Record<string, unknown>; pattern: string } | undefined {
  const quoted = `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const simple = (stixType: string) => ({
    sco: { type: stixType, spec_version: '2.1', id: scoId(stixType, { value }), value },
    pattern: `[${stixType}:value = ${quoted}]`,
  });
  switch (type) {
    case 'ipv4':
    case 'cidr':
      return value.includes(':') ? simple('ipv6-addr') : simple('ipv4-addr');
    case 'ipv6':
      return simple('ipv6-addr');
    case 'domain':
    case 'hostname':
      return simple('domain-name');
    case 'url':
      return simple('url');
    case 'email':
      return simple('email-addr');
    case 'mac':
      return simple('mac-addr');
    case 'md5':
    case 'sha1':
    case 'sha256': {
      const algorithm = HASH_NAMES[type] as string;
      const hashes = { [algorithm]: value.toLowerCase() };
      return {
        sco: { type: 'file', spec_version: '2.1', id: scoId('file', { hashes }), hashes },
        pattern: `[file:hashes.'${algorithm}' = '${value.toLowerCase()}']`,
      };
    }
    case 'file_name':
      return {
        sco: { type: 'file', spec_version: '2.1', id: scoId('file', { name: value }), name: value },
        pattern: `[file:name = ${quoted}]`,
      };
    case 'user':
      return {
        sco: { type: 'user-account', spec_version: '2.1', id: scoId('user-account', { account_login: value }), account_login: value },
        pattern: `[user-account:account_login = ${quoted}]`,
      };
    case 'registry_key':
      return {
        sco: { type: 'windows-registry-key', spec_version: '2.1', id: scoId('windows-registry-key', { key: value }), key: value },
        pattern: `[windows-registry-key:key = ${quoted}]`,
      };
    default:
      return undefined;
  }
}

function tlpMarking(level: TlpLevel): string {
  for (const [id, m] of Object.entries(TLP_MARKINGS)) if (m.version === '2.0' && m.level === level) return id;
  return 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421';
}

/** STIX timestamps need a "Z" and at most millisecond precision is what we hold. */
const stamp = (iso: string | null | undefined, fallback: string): string => (iso ? new Date(iso).toISOString() : fallback);

export function caseToStixBundle(input: CaseStixInput, catalog: AttackCatalog): { type: 'bundle'; id: string; objects: Array<Record<string, unknown>> } {
  const c = input.case;
  const created = stamp(c.created_at, new Date(0).toISOString());
  const modified = stamp(c.updated_at, created);
  const marking = [tlpMarking(c.tlp)];
  const identityId = derivedId('identity', 'riposte-instance');
  const common = (type: string, id: string) => ({
    type,
    spec_version: '2.1',
    id,
    created_by_ref: identityId,
    created,
    modified,
    object_marking_refs: marking,
  });
  const objects: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  const push = (o: Record<string, unknown>) => {
    if (seen.has(o.id as string)) return;
    seen.add(o.id as string);
    objects.push(o);
  };

  push({
    type: 'identity',
    spec_version: '2.1',
    id: identityId,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    name: 'Riposte',
    identity_class: 'system',
  });

  const attackPatterns = new Map<string, string>();
  const attackPattern = (techniqueId: string): string | undefined => {
    const known = attackPatterns.get(techniqueId);
    if (known) return known;
    const t = catalog.technique(techniqueId);
    if (!t) return undefined;
    const id = t.stix_id ?? derivedId('attack-pattern', `attack:${t.id}`);
    push({
      ...common('attack-pattern', id),
      name: t.name,
      external_references: [{ source_name: 'mitre-attack', external_id: t.id, url: t.url }],
      kill_chain_phases: t.tactics.map((phase) => ({ kill_chain_name: 'mitre-attack', phase_name: phase })),
    });
    attackPatterns.set(techniqueId, id);
    return id;
  };
  for (const technique of c.techniques) attackPattern(technique);

  const indicatorByObservable = new Map<string, string>();
  for (const o of input.observables) {
    const mapped = scoForObservable(o.type, o.value);
    if (!mapped) continue;
    push({ ...mapped.sco, object_marking_refs: marking });
    if (o.verdict !== 'malicious' && o.verdict !== 'suspicious') continue;
    const indicatorId = derivedId('indicator', `observable:${o.id}:${c.id}`);
    const validFrom = stamp(o.enriched_at ?? o.first_seen_at, created);
    push({
      ...common('indicator', indicatorId),
      created: validFrom,
      modified: stamp(o.enriched_at, validFrom),
      name: `${o.verdict} ${o.type} ${o.value}`,
      indicator_types: [o.verdict === 'malicious' ? 'malicious-activity' : 'anomalous-activity'],
      pattern: mapped.pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: validFrom,
      ...(o.confidence === null ? {} : { confidence: Math.max(0, Math.min(100, Math.round(o.confidence))) }),
    });
    indicatorByObservable.set(`${o.type}\u0000${o.value}`, indicatorId);
    for (const technique of c.techniques) {
      const ap = attackPattern(technique);
      if (ap)
        push({
          ...common('relationship', derivedId('relationship', `indicates:${indicatorId}:${ap}`)),
          relationship_type: 'indicates',
          source_ref: indicatorId,
          target_ref: ap,
        });
    }
  }

  for (const alert of input.alerts) {
    const first = new Date(alert.time).toISOString();
    // ISO strings of one format sort as times: the later of the two, so last_seen is never before first_seen.
    const last = [first, stamp(alert.last_seen_at, first)].sort()[1] as string;
    const sightedRefs = new Set<string>();
    for (const o of alert.observables) {
      const ref = indicatorByObservable.get(`${o.type}\u0000${o.value}`);
      if (ref) sightedRefs.add(ref);
    }
    if (sightedRefs.size === 0)
      for (const t of alert.techniques.length > 0 ? alert.techniques : c.techniques) {
        const ap = attackPattern(t);
        if (ap) {
          sightedRefs.add(ap);
          break;
        }
      }
    for (const ref of sightedRefs) {
      push({
        ...common('sighting', derivedId('sighting', `alert:${alert.id}:${ref}`)),
        created: first,
        modified: last,
        description: alert.title,
        first_seen: first,
        last_seen: last,
        count: Math.max(1, alert.count),
        sighting_of_ref: ref,
        where_sighted_refs: [identityId],
      });
    }
  }

  const reportId = derivedId('report', `case:${c.id}`);
  for (const ap of attackPatterns.values())
    push({
      ...common('relationship', derivedId('relationship', `related-to:${reportId}:${ap}`)),
      relationship_type: 'related-to',
      source_ref: reportId,
      target_ref: ap,
    });
  const refs = objects.filter((o) => o.type !== 'identity').map((o) => o.id as string);
  push({
    ...common('report', reportId),
    name: `Case #${c.number}: ${c.title}`,
    description: c.description,
    report_types: ['incident'],
    published: modified,
    object_refs: refs.length > 0 ? refs : [identityId],
    labels: [`severity:${c.severity}`, `status:${c.status}`],
    external_references: [{ source_name: 'riposte', external_id: c.id }],
  });
  return { type: 'bundle', id: derivedId('bundle', `case:${c.id}:${modified}`), objects };
}
