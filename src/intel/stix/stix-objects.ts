import { RiposteError } from '../../core/index.ts';
import { parsePattern, parseStixTimestamp } from './pattern-parser.ts';

/**
 * Validation of STIX 2.1 objects and bundles against the specification's rules: common properties per kind
 * (SDO, SRO, SCO, meta objects), identifiers `type--UUID`, timestamps, `modified` ≥ `created`,
 * `valid_until` > `valid_from`, confidence 0–100, markings (TLP 1.0 and 2.0, granular markings) and the
 * required properties of each type. Objects are returned unchanged: unknown types and custom properties
 * are preserved, never stripped. Problems name the JSON path (`$.objects[2].created`).
 */

export interface StixProblem {
  path: string;
  message: string;
}

export interface StixValidation {
  valid: boolean;
  errors: StixProblem[];
  /** SHOULD-level deviations (UUID versions, sub-millisecond timestamps): reported, not fatal. */
  warnings: StixProblem[];
}

export const SDO_TYPES = new Set([
  'attack-pattern',
  'campaign',
  'course-of-action',
  'grouping',
  'identity',
  'incident',
  'indicator',
  'infrastructure',
  'intrusion-set',
  'location',
  'malware',
  'malware-analysis',
  'note',
  'observed-data',
  'opinion',
  'report',
  'threat-actor',
  'tool',
  'vulnerability',
]);
export const SRO_TYPES = new Set(['relationship', 'sighting']);
export const SCO_TYPES = new Set([
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
]);
const META_TYPES = new Set(['marking-definition', 'language-content', 'extension-definition']);

/** Required properties beyond the common ones, per type (STIX 2.1 §4–§6). */
const REQUIRED: Record<string, string[]> = {
  'attack-pattern': ['name'],
  campaign: ['name'],
  'course-of-action': ['name'],
  grouping: ['context', 'object_refs'],
  identity: ['name'],
  incident: ['name'],
  indicator: ['pattern', 'pattern_type', 'valid_from'],
  infrastructure: ['name'],
  'intrusion-set': ['name'],
  malware: ['is_family'],
  'malware-analysis': ['product'],
  note: ['content', 'object_refs'],
  'observed-data': ['first_observed', 'last_observed', 'number_observed'],
  opinion: ['opinion', 'object_refs'],
  report: ['name', 'published', 'object_refs'],
  'threat-actor': ['name'],
  tool: ['name'],
  vulnerability: ['name'],
  relationship: ['relationship_type', 'source_ref', 'target_ref'],
  sighting: ['sighting_of_ref'],
  'autonomous-system': ['number'],
  directory: ['path'],
  'domain-name': ['value'],
  'email-addr': ['value'],
  'email-message': ['is_multipart'],
  'ipv4-addr': ['value'],
  'ipv6-addr': ['value'],
  'mac-addr': ['value'],
  mutex: ['name'],
  'network-traffic': ['protocols'],
  software: ['name'],
  url: ['value'],
  'language-content': ['object_ref', 'contents'],
  'extension-definition': ['name', 'schema', 'version', 'extension_types', 'created_by_ref'],
};

/** TLP marking-definitions with fixed identifiers: 1.0 from STIX 2.1 §7.2.1.4, 2.0 from the OASIS TLP 2.0 extension. */
export const TLP_MARKINGS = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': { version: '1.0', level: 'white' },
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': { version: '1.0', level: 'green' },
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': { version: '1.0', level: 'amber' },
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': { version: '1.0', level: 'red' },
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': { version: '2.0', level: 'clear' },
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': { version: '2.0', level: 'green' },
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': { version: '2.0', level: 'amber' },
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': { version: '2.0', level: 'amber+strict' },
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': { version: '2.0', level: 'red' },
} as const satisfies Record<string, { version: '1.0' | '2.0'; level: string }>;

export const TLP_2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

export type TlpLevel = 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';
const TLP_RANK: Record<TlpLevel, number> = { clear: 0, green: 1, amber: 2, 'amber+strict': 3, red: 4 };

/** The most restrictive TLP among marking refs (TLP 1.0 white reads as clear); undefined when none is TLP. */
export function tlpOf(markingRefs: readonly string[] | undefined): TlpLevel | undefined {
  let best: TlpLevel | undefined;
  for (const ref of markingRefs ?? []) {
    const known = (TLP_MARKINGS as Record<string, { level: string }>)[ref];
    if (!known) continue;
    const level = (known.level === 'white' ? 'clear' : known.level) as TlpLevel;
    if (best === undefined || TLP_RANK[level] > TLP_RANK[best]) best = level;
  }
  return best;
}

const TYPE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-([1-8])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PROPERTY_NAME = /^[a-z0-9_]{3,250}$/;

export function isStixIdentifier(value: unknown, type?: string): value is string {
  if (typeof value !== 'string') return false;
  const split = value.indexOf('--');
  if (split < 1) return false;
  const idType = value.slice(0, split);
  return (type === undefined || idType === type) && TYPE_NAME.test(idType) && UUID.test(value.slice(split + 2));
}

class Checker {
  readonly errors: StixProblem[] = [];
  readonly warnings: StixProblem[] = [];
  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkTimestamp(c: Checker, object: Record<string, unknown>, name: string, path: string, millisecond = false): number | undefined {
  const value = object[name];
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseStixTimestamp(value) : undefined;
  if (ms === undefined) {
    c.error(`${path}.${name}`, 'must be an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)');
    return undefined;
  }
  if (millisecond) {
    const fraction = /\.(\d+)Z$/.exec(value as string)?.[1] ?? '';
    if (fraction.length < 3) c.error(`${path}.${name}`, 'must be precise to the millisecond (three fractional digits)');
    else if (fraction.length > 3) c.warn(`${path}.${name}`, 'is more precise than the millisecond STIX asks for');
  }
  return ms;
}

function checkIdentifierList(c: Checker, value: unknown, path: string, type?: string): void {
  if (!Array.isArray(value) || value.length === 0) {
    c.error(path, 'must be a non-empty list of identifiers');
    return;
  }
  value.forEach((ref, i) => {
    if (!isStixIdentifier(ref, type)) c.error(`${path}[${i}]`, type ? `must be a ${type} identifier` : 'must be a STIX identifier (type--UUID)');
  });
}

function checkCommon(c: Checker, o: Record<string, unknown>, path: string, kind: 'sdo' | 'sro' | 'sco' | 'meta' | 'custom'): void {
  const type = o.type as string;
  if (!isStixIdentifier(o.id)) c.error(`${path}.id`, 'must be an identifier of the form type--UUID (RFC 4122)');
  else {
    const [idType, uuid] = (o.id as string).split('--') as [string, string];
    if (idType !== type) c.error(`${path}.id`, `must start with the object's type "${type}--"`);
    const version = UUID.exec(uuid)?.[1];
    if (kind === 'sco' ? version !== '4' && version !== '5' : version !== '4' && !(type === 'marking-definition' && o.id in TLP_MARKINGS)) {
      c.warn(`${path}.id`, kind === 'sco' ? 'should use a UUIDv5 (or v4)' : 'should use a UUIDv4');
    }
  }
  if (kind === 'sco') {
    if (o.spec_version !== undefined && o.spec_version !== '2.1') c.error(`${path}.spec_version`, 'must be "2.1"');
  } else if (o.spec_version !== '2.1') {
    c.error(`${path}.spec_version`, o.spec_version === undefined ? 'is required' : 'must be "2.1"');
  }
  const millisecondRule = kind !== 'sco';
  if (kind === 'sdo' || kind === 'sro' || (kind === 'meta' && type !== 'marking-definition') || (kind === 'custom' && o.created !== undefined)) {
    if (o.created === undefined) c.error(`${path}.created`, 'is required');
    if (o.modified === undefined && type !== 'marking-definition') c.error(`${path}.modified`, 'is required');
  }
  if (type === 'marking-definition' && o.created === undefined) c.error(`${path}.created`, 'is required');
  const created = checkTimestamp(c, o, 'created', path, millisecondRule);
  const modified = checkTimestamp(c, o, 'modified', path, millisecondRule);
  if (created !== undefined && modified !== undefined && modified < created) c.error(`${path}.modified`, 'must not be earlier than created');
  if (o.created_by_ref !== undefined && !isStixIdentifier(o.created_by_ref, 'identity')) c.error(`${path}.created_by_ref`, 'must be an identity identifier');
  if (o.revoked !== undefined && typeof o.revoked !== 'boolean') c.error(`${path}.revoked`, 'must be a boolean');
  if (o.labels !== undefined && (!Array.isArray(o.labels) || o.labels.some((l) => typeof l !== 'string')))
    c.error(`${path}.labels`, 'must be a list of strings');
  if (o.confidence !== undefined && !(Number.isInteger(o.confidence) && (o.confidence as number) >= 0 && (o.confidence as number) <= 100)) {
    c.error(`${path}.confidence`, 'must be an integer from 0 to 100');
  }
  if (o.lang !== undefined && typeof o.lang !== 'string') c.error(`${path}.lang`, 'must be a language code string');
  if (o.external_references !== undefined) {
    if (!Array.isArray(o.external_references)) c.error(`${path}.external_references`, 'must be a list');
    else
      o.external_references.forEach((ref, i) => {
        if (!isRecord(ref) || typeof ref.source_name !== 'string') c.error(`${path}.external_references[${i}].source_name`, 'is required');
      });
  }
  if (o.object_marking_refs !== undefined) checkIdentifierList(c, o.object_marking_refs, `${path}.object_marking_refs`, 'marking-definition');
  if (o.granular_markings !== undefined) {
    if (!Array.isArray(o.granular_markings) || o.granular_markings.length === 0) c.error(`${path}.granular_markings`, 'must be a non-empty list');
    else
      o.granular_markings.forEach((g, i) => {
        const gp = `${path}.granular_markings[${i}]`;
        if (!isRecord(g)) {
          c.error(gp, 'must be an object');
          return;
        }
        if ((g.marking_ref === undefined) === (g.lang === undefined)) c.error(gp, 'must have exactly one of marking_ref and lang');
        if (g.marking_ref !== undefined && !isStixIdentifier(g.marking_ref, 'marking-definition'))
          c.error(`${gp}.marking_ref`, 'must be a marking-definition identifier');
        if (!Array.isArray(g.selectors) || g.selectors.length === 0 || g.selectors.some((s) => typeof s !== 'string' || s === '')) {
          c.error(`${gp}.selectors`, 'must be a non-empty list of selector strings');
        }
      });
  }
  if (o.extensions !== undefined && !isRecord(o.extensions)) c.error(`${path}.extensions`, 'must be a dictionary');
  for (const key of Object.keys(o)) {
    if (!PROPERTY_NAME.test(key) && key !== 'id') c.warn(`${path}.${key}`, 'property names should be 3–250 characters of a–z, 0–9 and _');
  }
}

function checkTypeSpecific(c: Checker, o: Record<string, unknown>, path: string): void {
  const type = o.type as string;
  for (const name of REQUIRED[type] ?? []) if (o[name] === undefined) c.error(`${path}.${name}`, 'is required');
  switch (type) {
    case 'indicator': {
      const from = checkTimestamp(c, o, 'valid_from', path);
      const until = checkTimestamp(c, o, 'valid_until', path);
      if (from !== undefined && until !== undefined && until <= from) c.error(`${path}.valid_until`, 'must be later than valid_from');
      if (o.pattern_type === 'stix' && typeof o.pattern === 'string') {
        try {
          parsePattern(o.pattern, { stixVersion: o.pattern_version === '2.0' ? '2.0' : '2.1' });
        } catch (error) {
          c.error(`${path}.pattern`, (error as Error).message);
        }
      } else if (o.pattern !== undefined && typeof o.pattern !== 'string') c.error(`${path}.pattern`, 'must be a string');
      break;
    }
    case 'observed-data': {
      const first = checkTimestamp(c, o, 'first_observed', path);
      const last = checkTimestamp(c, o, 'last_observed', path);
      if (first !== undefined && last !== undefined && last < first) c.error(`${path}.last_observed`, 'must not be earlier than first_observed');
      const n = o.number_observed;
      if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 999_999_999))
        c.error(`${path}.number_observed`, 'must be an integer from 1 to 999,999,999');
      if (o.object_refs !== undefined) checkIdentifierList(c, o.object_refs, `${path}.object_refs`);
      if (o.objects !== undefined) c.warn(`${path}.objects`, 'is deprecated in STIX 2.1: use object_refs');
      break;
    }
    case 'relationship':
      if (o.source_ref !== undefined && !isStixIdentifier(o.source_ref)) c.error(`${path}.source_ref`, 'must be a STIX identifier');
      if (o.target_ref !== undefined && !isStixIdentifier(o.target_ref)) c.error(`${path}.target_ref`, 'must be a STIX identifier');
      checkTimestamp(c, o, 'start_time', path);
      checkTimestamp(c, o, 'stop_time', path);
      break;
    case 'sighting': {
      if (o.sighting_of_ref !== undefined && !isStixIdentifier(o.sighting_of_ref)) c.error(`${path}.sighting_of_ref`, 'must be a STIX identifier');
      const first = checkTimestamp(c, o, 'first_seen', path);
      const last = checkTimestamp(c, o, 'last_seen', path);
      if (first !== undefined && last !== undefined && last < first) c.error(`${path}.last_seen`, 'must not be earlier than first_seen');
      if (o.count !== undefined && !(Number.isInteger(o.count) && (o.count as number) >= 0 && (o.count as number) <= 999_999_999))
        c.error(`${path}.count`, 'must be an integer from 0 to 999,999,999');
      for (const list of ['observed_data_refs', 'where_sighted_refs']) if (o[list] !== undefined) checkIdentifierList(c, o[list], `${path}.${list}`);
      break;
    }
    case 'grouping':
    case 'note':
    case 'opinion':
    case 'report':
      if (o.object_refs !== undefined) checkIdentifierList(c, o.object_refs, `${path}.object_refs`);
      if (type === 'report') checkTimestamp(c, o, 'published', path);
      break;
    case 'malware':
      if (o.is_family !== undefined && typeof o.is_family !== 'boolean') c.error(`${path}.is_family`, 'must be a boolean');
      break;
    case 'file':
      if (o.hashes === undefined && o.name === undefined) c.error(path, 'a file needs hashes or name');
      break;
    case 'marking-definition':
      checkMarkingDefinition(c, o, path);
      break;
  }
}

function checkMarkingDefinition(c: Checker, o: Record<string, unknown>, path: string): void {
  const known = (TLP_MARKINGS as Record<string, { version: string; level: string }>)[o.id as string];
  const extensions = isRecord(o.extensions) ? o.extensions : undefined;
  if (o.definition_type !== undefined || o.definition !== undefined) {
    if (typeof o.definition_type !== 'string') c.error(`${path}.definition_type`, 'is required with definition');
    if (!isRecord(o.definition)) c.error(`${path}.definition`, 'must be an object');
    if (o.definition_type === 'tlp' && isRecord(o.definition)) {
      const tlp = o.definition.tlp;
      if (!['white', 'green', 'amber', 'red'].includes(tlp as string)) c.error(`${path}.definition.tlp`, 'must be white, green, amber or red (TLP 1.0)');
      else {
        const fixed = Object.entries(TLP_MARKINGS).find(([, v]) => v.version === '1.0' && v.level === tlp)?.[0];
        if (o.id !== fixed) c.error(`${path}.id`, `a TLP:${(tlp as string).toUpperCase()} marking must use the fixed identifier ${fixed}`);
      }
    }
    if (o.definition_type === 'statement' && isRecord(o.definition) && typeof o.definition.statement !== 'string')
      c.error(`${path}.definition.statement`, 'is required');
  } else if (extensions === undefined) {
    c.error(path, 'a marking-definition needs definition_type and definition, or extensions');
  }
  const tlp2 = extensions?.[TLP_2_EXTENSION_ID];
  if (tlp2 !== undefined) {
    const level = isRecord(tlp2) ? tlp2.tlp_2_0 : undefined;
    const fixed = Object.entries(TLP_MARKINGS).find(([, v]) => v.version === '2.0' && v.level === level)?.[0];
    if (!fixed) c.error(`${path}.extensions.${TLP_2_EXTENSION_ID}.tlp_2_0`, 'must be clear, green, amber, amber+strict or red');
    else if (o.id !== fixed) c.error(`${path}.id`, `a TLP 2.0 ${String(level)} marking must use the fixed identifier ${fixed}`);
  }
  if (known && known.version === '1.0' && (!isRecord(o.definition) || o.definition.tlp !== known.level)) {
    c.error(`${path}.definition`, `the fixed identifier ${o.id} is TLP 1.0 ${known.level}`);
  }
  if (known && known.version === '2.0' && (!isRecord(tlp2) || tlp2.tlp_2_0 !== known.level)) {
    c.error(`${path}.extensions`, `the fixed identifier ${o.id} is TLP 2.0 ${known.level} (extension ${TLP_2_EXTENSION_ID})`);
  }
}

function checkObject(c: Checker, o: unknown, path: string): void {
  if (!isRecord(o)) {
    c.error(path, 'must be a JSON object');
    return;
  }
  const type = o.type;
  if (typeof type !== 'string') {
    c.error(`${path}.type`, 'is required');
    return;
  }
  if (!TYPE_NAME.test(type) || type.length < 3 || type.length > 250) {
    c.error(`${path}.type`, 'must be 3–250 characters of a–z, 0–9 and single hyphens');
  }
  if (type === 'bundle') {
    checkBundleInto(c, o, path);
    return;
  }
  const kind = SDO_TYPES.has(type) ? 'sdo' : SRO_TYPES.has(type) ? 'sro' : SCO_TYPES.has(type) ? 'sco' : META_TYPES.has(type) ? 'meta' : 'custom';
  // A custom type is read as an SCO when it has no created/modified (custom SCOs carry neither).
  const effective = kind === 'custom' && o.created === undefined && o.modified === undefined ? 'sco' : kind;
  checkCommon(c, o, path, effective);
  checkTypeSpecific(c, o, path);
}

function checkBundleInto(c: Checker, o: Record<string, unknown>, path: string): void {
  if (!isStixIdentifier(o.id, 'bundle')) c.error(`${path}.id`, 'must be a bundle identifier (bundle--UUID)');
  if (o.objects !== undefined) {
    if (!Array.isArray(o.objects)) c.error(`${path}.objects`, 'must be a list');
    else
      o.objects.forEach((object, i) => {
        checkObject(c, object, `${path}.objects[${i}]`);
      });
  }
}

/** Validates one STIX object or a bundle (with everything in it). */
export function validateStix(value: unknown): StixValidation {
  const c = new Checker();
  checkObject(c, value, '$');
  return { valid: c.errors.length === 0, errors: c.errors, warnings: c.warnings };
}

/** Returns the object unchanged when valid; throws `stix.invalid_object` listing every problem otherwise. */
export function parseStix<T = Record<string, unknown>>(value: unknown): T {
  const result = validateStix(value);
  if (!result.valid) {
    const first = result.errors[0] as StixProblem;
    const more = result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : '';
    throw new RiposteError('stix.invalid_object', `${first.path} ${first.message}${more}`, { status: 400, details: { errors: result.errors } });
  }
  return value as T;
}

/** Wraps objects into a STIX 2.1 bundle (bundles carry no spec_version in 2.1). */
export function bundleOf(objects: unknown[], id: string): { type: 'bundle'; id: string; objects: unknown[] } {
  return { type: 'bundle', id, objects };
}
