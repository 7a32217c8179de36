import { isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { type PositionedIssue, parseYamlWithPositions, RiposteError } from '../../core/index.ts';
import { ConditionProblem, parseCondition } from './condition-parser.ts';
import { type Condition, type Detection, type DetectionItem, SIGMA_LEVELS, SIGMA_STATUSES, type SigmaLogsource, type SigmaRule } from './rule-model.ts';
import { buildDetectionItem, ModifierProblem, type RawValue } from './value-modifiers.ts';

/**
 * Reads a Sigma rule (specification 2.x) from YAML and validates it the way a compiler would: every problem
 * is reported with its path in the rule and its line:column, unknown or unsupported constructs are refused
 * by name, and nothing is half-accepted. Correlation rules, filters (meta-rules) and Sigma 1.0 collections
 * and aggregations are outside this engine and say so.
 */

export type SigmaIssue = PositionedIssue;

export type SigmaValidation = { ok: true; rule: SigmaRule } | { ok: false; issues: SigmaIssue[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}[-/]\d{2}[-/]\d{2}$/;
const TAG = /^[a-z0-9_-]+(\.[a-z0-9_.-]+)+$/;
const ATTACK_TECHNIQUE_TAG = /^attack\.t(\d{4})(?:\.(\d{3}))?$/;
const IDENTIFIER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const RELATED_TYPES = ['derived', 'obsolete', 'merged', 'renamed', 'similar'];
const RESERVED_IDENTIFIERS = new Set(['and', 'or', 'not', 'of', 'them', 'all', 'any', '1']);

type Path = Array<string | number>;

class RuleReader {
  readonly issues: SigmaIssue[] = [];
  /** Issues that point at a mapping key (a field|modifier), not at its value. */
  readonly atKey = new Set<SigmaIssue>();

  issue(code: string, path: Path, message: string, options: { atKey?: boolean; hint?: string } = {}): void {
    const issue: SigmaIssue = { code, path, message, ...(options.hint ? { hint: options.hint } : {}) };
    this.issues.push(issue);
    if (options.atKey) this.atKey.add(issue);
  }
}

function pairsOf(node: YamlNode | null | undefined): Array<{ key: string; value: YamlNode | null }> {
  if (!isMap(node)) return [];
  return node.items.map((pair) => ({
    key: isScalar(pair.key) ? String(pair.key.value) : String(pair.key),
    value: (pair.value ?? null) as YamlNode | null,
  }));
}

function scalarValue(node: YamlNode | null): unknown {
  return isScalar(node) ? node.value : undefined;
}

function rawValueOf(node: YamlNode | null): RawValue | undefined {
  if (node === null) return { kind: 'null' };
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (v === null || v === undefined) return { kind: 'null' };
  if (typeof v === 'string') return { kind: 'string', raw: v };
  if (typeof v === 'number') return { kind: 'number', value: v, text: node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : String(v) };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  return undefined;
}

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function readString(reader: RuleReader, node: YamlNode | null, path: Path, what: string, max?: number): string | undefined {
  const v = scalarValue(node);
  if (typeof v !== 'string' && typeof v !== 'number') {
    reader.issue('sigma.schema', path, `${what} must be a string`);
    return undefined;
  }
  const s = String(v);
  if (max !== undefined && s.length > max) reader.issue('sigma.schema', path, `${what} is longer than ${max} characters`);
  return s;
}

function readStringList(reader: RuleReader, node: YamlNode | null, path: Path, what: string, allowSingle = false): string[] {
  if (allowSingle && isScalar(node) && typeof node.value === 'string') return [node.value];
  if (!isSeq(node)) {
    reader.issue('sigma.schema', path, `${what} must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  node.items.forEach((item, index) => {
    const v = scalarValue(item as YamlNode);
    if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
    else reader.issue('sigma.schema', [...path, index], `${what} entries must be strings`);
  });
  return out;
}

function readDetection(reader: RuleReader, node: YamlNode | null, path: Path): Detection | undefined {
  if (isMap(node)) return readMapDetection(reader, node, path);
  if (isSeq(node)) {
    const items = node.items as Array<YamlNode | null>;
    if (items.length === 0) {
      reader.issue('sigma.schema', path, 'a search identifier must not be an empty list');
      return undefined;
    }
    if (items.every((i) => isMap(i))) {
      const detections: Detection[] = [];
      items.forEach((item, index) => {
        const d = readMapDetection(reader, item, [...path, index]);
        if (d) detections.push(d);
      });
      return detections.length === items.length ? { kind: 'any', detections } : undefined;
    }
    const values: RawValue[] = [];
    let ok = true;
    items.forEach((item, index) => {
      const raw = rawValueOf(item);
      if (!raw || isMap(item) || isSeq(item)) {
        reader.issue(
          'sigma.schema',
          [...path, index],
          'a list must hold only maps (OR of selections) or only plain values (keywords), not a mix or nested lists',
        );
        ok = false;
      } else values.push(raw);
    });
    if (!ok) return undefined;
    const item = makeItem(reader, null, [], values, path, false);
    return item ? { kind: 'keywords', item } : undefined;
  }
  const raw = rawValueOf(node);
  if (raw && raw.kind !== 'null') {
    const item = makeItem(reader, null, [], [raw], path, false);
    return item ? { kind: 'keywords', item } : undefined;
  }
  reader.issue('sigma.schema', path, 'a search identifier must be a map of fields, a list of maps, or a list of keywords');
  return undefined;
}

function readMapDetection(reader: RuleReader, node: YamlNode | null, path: Path): Detection | undefined {
  const pairs = pairsOf(node);
  if (pairs.length === 0) {
    reader.issue('sigma.schema', path, 'a selection map must not be empty');
    return undefined;
  }
  const items: DetectionItem[] = [];
  let ok = true;
  for (const { key, value } of pairs) {
    const keyPath = [...path, key];
    const [fieldPart, ...modifiers] = key.split('|');
    const field = fieldPart === '' ? null : (fieldPart as string);
    if (field !== null && field.trim() !== field) {
      reader.issue('sigma.schema', keyPath, `field name ${JSON.stringify(field)} has leading or trailing spaces`, { atKey: true });
      ok = false;
      continue;
    }
    if (modifiers.some((m) => m === '')) {
      reader.issue('sigma.modifier', keyPath, `empty modifier in ${JSON.stringify(key)}`, { atKey: true });
      ok = false;
      continue;
    }
    let values: RawValue[];
    if (isSeq(value)) {
      values = [];
      (value.items as Array<YamlNode | null>).forEach((item, index) => {
        const raw = rawValueOf(item);
        if (!raw || isMap(item) || isSeq(item)) {
          reader.issue('sigma.schema', [...keyPath, index], `${key}: list entries must be plain values (strings, numbers, booleans or null)`);
          ok = false;
        } else values.push(raw);
      });
    } else if (isMap(value)) {
      reader.issue('sigma.schema', keyPath, `${key}: a field's value must be a value or a list of values, not a map`, { atKey: true });
      ok = false;
      continue;
    } else {
      const raw = rawValueOf(value);
      if (!raw) {
        reader.issue('sigma.schema', keyPath, `${key}: unsupported value`);
        ok = false;
        continue;
      }
      values = [raw];
    }
    const item = makeItem(reader, field, modifiers, values, keyPath, true);
    if (item) items.push(item);
    else ok = false;
  }
  return ok ? { kind: 'map', items } : undefined;
}

function makeItem(reader: RuleReader, field: string | null, modifiers: string[], values: RawValue[], path: Path, keyed: boolean): DetectionItem | undefined {
  try {
    return buildDetectionItem(field, modifiers, values);
  } catch (error) {
    if (!(error instanceof ModifierProblem)) throw error;
    const name = field === null ? (modifiers.length > 0 ? `|${modifiers.join('|')}` : 'keywords') : [field, ...modifiers].join('|');
    const target = error.valueIndex !== undefined ? [...path, error.valueIndex] : path;
    reader.issue(
      /modifier '[^']*'/.test(error.message) || /^\w+: /.test(error.message) ? 'sigma.modifier' : 'sigma.schema',
      target,
      `${name}: ${error.message}`,
      {
        atKey: keyed && error.valueIndex === undefined,
      },
    );
    return undefined;
  }
}

/** Validates a rule and returns either the rule or every problem found, each with line and column. */
export function validateSigmaRule(text: string): SigmaValidation {
  if (/^---\s*$/m.test(text.replace(/^---\s*\n/, ''))) {
    const parsedMulti = parseYamlWithPositions(text, 'sigma.yaml');
    if (!parsedMulti.ok && parsedMulti.issues.some((i) => /multiple documents/i.test(i.message))) {
      return {
        ok: false,
        issues: [
          {
            code: 'sigma.unsupported',
            path: [],
            message: 'multi-document rule files (Sigma 1.0 rule collections) are not supported: one rule per file',
            line: 1,
            column: 1,
          },
        ],
      };
    }
  }
  const parsed = parseYamlWithPositions(text, 'sigma.yaml');
  if (!parsed.ok) return { ok: false, issues: parsed.issues };
  const reader = new RuleReader();
  const root = parsed.doc.contents as YamlNode | null;
  if (!isMap(root)) {
    return {
      ok: false,
      issues: [{ code: 'sigma.schema', path: [], message: 'a Sigma rule must be a YAML mapping (title, logsource, detection, …)', line: 1, column: 1 }],
    };
  }
  const fields = new Map(pairsOf(root).map((p) => [p.key, p.value]));
  const rule = readRule(reader, fields, text);
  const unpositioned = reader.issues.filter((i) => i.line === undefined);
  parsed.locate(unpositioned, (issue) => reader.atKey.has(issue));
  if (reader.issues.length > 0 || !rule) {
    const issues = [...reader.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    return { ok: false, issues };
  }
  return { ok: true, rule };
}

function readRule(reader: RuleReader, fields: Map<string, YamlNode | null>, text: string): SigmaRule | undefined {
  if (fields.has('correlation')) {
    reader.issue('sigma.unsupported', ['correlation'], 'Sigma correlation rules are not supported: only detection rules', { atKey: true });
    return undefined;
  }
  if (fields.has('filter') && !fields.has('detection')) {
    reader.issue('sigma.unsupported', ['filter'], 'Sigma filters (meta-rules) are not supported: only detection rules', { atKey: true });
    return undefined;
  }
  if (fields.has('action')) {
    reader.issue('sigma.unsupported', ['action'], "'action' (Sigma 1.0 rule collections) is not supported: one complete rule per file", { atKey: true });
  }
  for (const required of ['title', 'logsource', 'detection']) {
    if (!fields.has(required)) reader.issue('sigma.schema', [], `missing required field '${required}'`);
  }
  const get = (key: string) => fields.get(key) ?? null;

  const title = fields.has('title') ? readString(reader, get('title'), ['title'], 'title', 256) : undefined;
  if (title !== undefined && title.trim() === '') reader.issue('sigma.schema', ['title'], 'title must not be empty');
  let id: string | undefined;
  if (fields.has('id')) {
    id = readString(reader, get('id'), ['id'], 'id');
    if (id !== undefined && !UUID.test(id))
      reader.issue('sigma.schema', ['id'], `id ${JSON.stringify(id)} must be a UUID (e.g. 929a690e-bef0-4204-a928-ef5e620d6fcc)`);
  }
  const optionalString = (key: string, max?: number) => (fields.has(key) ? readString(reader, get(key), [key], key, max) : undefined);
  const name = optionalString('name');
  const description = optionalString('description', 65_535);
  const author = optionalString('author');
  optionalString('license');
  const date = optionalString('date');
  const modified = optionalString('modified');
  for (const [key, value] of [
    ['date', date],
    ['modified', modified],
  ] as const) {
    if (value !== undefined && !DATE.test(value)) reader.issue('sigma.schema', [key], `${key} must be a date written YYYY-MM-DD`);
  }
  const status = optionalString('status');
  if (status !== undefined && !(SIGMA_STATUSES as readonly string[]).includes(status)) {
    reader.issue('sigma.schema', ['status'], `status must be one of ${SIGMA_STATUSES.join(', ')}`);
  }
  const level = optionalString('level');
  if (level !== undefined && !(SIGMA_LEVELS as readonly string[]).includes(level)) {
    reader.issue('sigma.schema', ['level'], `level must be one of ${SIGMA_LEVELS.join(', ')}`);
  }
  const references = fields.has('references') ? readStringList(reader, get('references'), ['references'], 'references') : [];
  const falsepositives = fields.has('falsepositives') ? readStringList(reader, get('falsepositives'), ['falsepositives'], 'falsepositives', true) : [];
  const fieldList = fields.has('fields') ? readStringList(reader, get('fields'), ['fields'], 'fields') : [];
  if (fields.has('scope')) readStringList(reader, get('scope'), ['scope'], 'scope');
  const tags = fields.has('tags') ? readStringList(reader, get('tags'), ['tags'], 'tags') : [];
  tags.forEach((tag, index) => {
    if (!TAG.test(tag)) reader.issue('sigma.schema', ['tags', index], `tag ${JSON.stringify(tag)} must be namespaced and lower-case (e.g. attack.t1547.001)`);
  });
  if (fields.has('related')) {
    const related = get('related');
    if (!isSeq(related)) reader.issue('sigma.schema', ['related'], 'related must be a list of {id, type}');
    else
      related.items.forEach((item, index) => {
        const entry = new Map(pairsOf(item as YamlNode).map((p) => [p.key, scalarValue(p.value)]));
        const rid = entry.get('id');
        const type = entry.get('type');
        if (typeof rid !== 'string' || !UUID.test(rid)) reader.issue('sigma.schema', ['related', index, 'id'], 'related id must be a UUID');
        if (typeof type !== 'string' || !RELATED_TYPES.includes(type))
          reader.issue('sigma.schema', ['related', index, 'type'], `related type must be one of ${RELATED_TYPES.join(', ')}`);
      });
  }

  const logsource: SigmaLogsource = {};
  if (fields.has('logsource')) {
    const node = get('logsource');
    if (!isMap(node)) reader.issue('sigma.schema', ['logsource'], 'logsource must be a map (category, product, service, definition)');
    else {
      for (const { key, value } of pairsOf(node)) {
        const v = readString(reader, value, ['logsource', key], `logsource.${key}`);
        if (v !== undefined) logsource[key] = v;
      }
      if (!logsource.category && !logsource.product && !logsource.service) {
        reader.issue('sigma.schema', ['logsource'], 'logsource needs at least one of category, product or service');
      }
    }
  }

  const detections = new Map<string, Detection>();
  const conditions: Condition[] = [];
  const conditionText: string[] = [];
  if (fields.has('detection')) {
    const node = get('detection');
    if (!isMap(node)) reader.issue('sigma.schema', ['detection'], 'detection must be a map of search identifiers and a condition');
    else {
      let conditionNode: YamlNode | null | undefined;
      for (const { key, value } of pairsOf(node)) {
        if (key === 'condition') {
          conditionNode = value;
          continue;
        }
        if (key === 'timeframe') {
          reader.issue('sigma.unsupported', ['detection', 'timeframe'], "'timeframe' (Sigma 1.0 aggregations) is not supported", { atKey: true });
          continue;
        }
        if (!IDENTIFIER.test(key) || RESERVED_IDENTIFIERS.has(key.toLowerCase())) {
          reader.issue(
            'sigma.schema',
            ['detection', key],
            `search identifier ${JSON.stringify(key)} must be letters, digits, '_', '.' or '-' and not a condition keyword`,
            { atKey: true },
          );
          continue;
        }
        const d = readDetection(reader, value, ['detection', key]);
        if (d) detections.set(key, d);
      }
      const identifiers = pairsOf(node)
        .map((p) => p.key)
        .filter((k) => k !== 'condition' && k !== 'timeframe');
      if (identifiers.length === 0) reader.issue('sigma.schema', ['detection'], 'detection needs at least one search identifier');
      if (conditionNode === undefined) reader.issue('sigma.schema', ['detection'], "detection needs a 'condition'");
      else {
        const entries: Array<{ node: YamlNode | null; path: Path }> = isSeq(conditionNode)
          ? (conditionNode.items as Array<YamlNode | null>).map((n, i) => ({ node: n, path: ['detection', 'condition', i] }))
          : [{ node: conditionNode, path: ['detection', 'condition'] }];
        if (entries.length === 0) reader.issue('sigma.schema', ['detection', 'condition'], 'condition must not be an empty list');
        for (const entry of entries) {
          const v = scalarValue(entry.node);
          if (typeof v !== 'string') {
            reader.issue('sigma.schema', entry.path, 'condition must be a string or a list of strings');
            continue;
          }
          conditionText.push(v);
          try {
            conditions.push(parseCondition(v, identifiers));
          } catch (error) {
            if (!(error instanceof ConditionProblem)) throw error;
            const issue: SigmaIssue = { code: 'sigma.condition', path: entry.path, message: `condition: ${error.message} (character ${error.offset + 1})` };
            const node = entry.node;
            if (isScalar(node) && node.range && typeof node.source === 'string' && !v.includes('\n')) {
              const quote = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE' ? 1 : 0;
              if (node.type === 'PLAIN' || (quote === 1 && !/['"\\]/.test(v))) Object.assign(issue, lineColumnAt(text, node.range[0] + quote + error.offset));
            }
            reader.issues.push(issue);
          }
        }
      }
    }
  }

  if (reader.issues.length > 0 || title === undefined) return undefined;
  const attackTechniques: string[] = [];
  for (const tag of tags) {
    const m = ATTACK_TECHNIQUE_TAG.exec(tag);
    if (m) {
      const technique = `T${m[1]}${m[2] ? `.${m[2]}` : ''}`;
      if (!attackTechniques.includes(technique)) attackTechniques.push(technique);
    }
  }
  return {
    title,
    ...(id !== undefined ? { id } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(status !== undefined ? { status: status as SigmaRule['status'] } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(author !== undefined ? { author } : {}),
    ...(date !== undefined ? { date } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(level !== undefined ? { level: level as SigmaRule['level'] } : {}),
    references,
    logsource,
    detections,
    conditions,
    conditionText,
    fields: fieldList,
    falsepositives,
    tags,
    attackTechniques,
  };
}

/** Formats an issue the way compilers do: `line 7:9: detection.selection.Image|foo: unknown modifier 'foo'`. */
export function formatSigmaIssue(issue: SigmaIssue, source?: string): string {
  const where = issue.line !== undefined ? `${source ? `${source}:` : 'line '}${issue.line}:${issue.column ?? 1}: ` : source ? `${source}: ` : '';
  return `${where}${issue.message}`;
}

/** Parses a rule or throws `sigma.invalid_rule` naming the first problem (all of them in `details.issues`). */
export function parseSigmaRule(text: string, options: { source?: string } = {}): SigmaRule {
  const result = validateSigmaRule(text);
  if (result.ok) return result.rule;
  const first = result.issues[0] as SigmaIssue;
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
  throw new RiposteError('sigma.invalid_rule', `invalid Sigma rule: ${formatSigmaIssue(first, options.source)}${more}`, {
    status: 422,
    details: { issues: result.issues },
  });
}
