import { createHash } from 'node:crypto';
import { RiposteError } from '../../core/index.ts';
import { type AttackCatalog, loadAttackCatalog } from '../../intel/index.ts';
import { type Comparison, type ComparisonExpression, type ObservationExpression, parsePattern, validateStix } from '../../intel/stix/index.ts';
import { CONVERSION_TARGETS, type ConversionTarget, convertSigmaRule } from '../sigma/query-conversion.ts';
import type { Detection, DetectionItem, SigmaRule, SigmaValue } from '../sigma/rule-model.ts';
import { parseSigmaRule } from '../sigma/rule-parser.ts';
import { literalString, parseSigmaString, type SigmaString, withTrailingAny } from '../sigma/sigma-string.ts';

/**
 * A hunt definition: what to look for across the fleet, whatever the intelligence arrived as — a Sigma
 * rule, a STIX 2.1 indicator whose pattern names a `windows-registry-key`, or a plain registry IOC (key
 * path, value name, data). All three become one Sigma rule (so local matching and every backend query come
 * from the same place) plus the ATT&CK techniques it hunts, checked against the shipped catalog.
 */

export type HuntSourceKind = 'sigma' | 'stix' | 'ioc';

export interface RegistryIoc {
  /** Full key path, e.g. HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run (HKLM\… also accepted). */
  keyPath: string;
  valueName?: string;
  data?: string;
}

export interface HuntTechnique {
  id: string;
  name: string;
  tactics: string[];
}

export interface HuntDefinition {
  id: string;
  title: string;
  source: HuntSourceKind;
  rule: SigmaRule;
  attack: HuntTechnique[];
}

export interface HuntOptions {
  /** ATT&CK technique ids given explicitly (added to those the source names). */
  attack?: string[];
  title?: string;
  catalog?: AttackCatalog;
}

export type HuntQuery = { target: ConversionTarget; query: string } | { target: ConversionTarget; error: string; code: string };

function huntError(message: string, details?: Record<string, unknown>): RiposteError {
  return new RiposteError('hunt.invalid', message, { status: 422, ...(details ? { details } : {}) });
}

/** Resolves technique ids against the catalog: unknown ids and revoked or deprecated techniques are refused. */
export function resolveTechniques(ids: string[], catalog: AttackCatalog = loadAttackCatalog()): HuntTechnique[] {
  const out: HuntTechnique[] = [];
  for (const raw of ids) {
    const id = raw.trim().toUpperCase();
    if (!/^T\d{4}(\.\d{3})?$/.test(id))
      throw new RiposteError('hunt.unknown_technique', `ATT&CK id ${JSON.stringify(raw)} is not a technique id (e.g. T1547.001)`, { status: 422 });
    const technique = catalog.technique(id);
    if (!technique) throw new RiposteError('hunt.unknown_technique', `ATT&CK technique ${id} is not in the catalog`, { status: 422 });
    if (!catalog.techniqueExists(id))
      throw new RiposteError('hunt.unknown_technique', `ATT&CK technique ${id} (${technique.name}) is ${technique.revoked ? 'revoked' : 'deprecated'}`, {
        status: 422,
      });
    if (!out.some((t) => t.id === id)) out.push({ id, name: technique.name, tactics: technique.tactics });
  }
  return out;
}

const HIVE_ABBREVIATIONS: Array<[RegExp, string]> = [
  [/^HKEY_LOCAL_MACHINE\\/i, 'HKLM\\'],
  [/^HKEY_USERS\\/i, 'HKU\\'],
  [/^HKEY_CURRENT_USER\\/i, 'HKCU\\'],
  [/^HKEY_CLASSES_ROOT\\/i, 'HKCR\\'],
];

/** Registry paths in the notation Sigma rules use (Sysmon's): HKLM\…, HKU\…, HKCU\…, HKCR\…. */
export function sysmonRegistryPath(path: string): string {
  const trimmed = path.trim().replace(/\\+$/, '');
  for (const [full, short] of HIVE_ABBREVIATIONS) if (full.test(trimmed)) return trimmed.replace(full, short);
  return trimmed;
}

/**
 * A key path as a Sigma value: literal text, except that the current user's hive (HKCU\ or
 * HKEY_CURRENT_USER\) means every user's hive — HKU\<any SID>\… as Sysmon, Defender and osquery see it.
 */
export function registryKeyValue(path: string): SigmaString {
  const key = sysmonRegistryPath(path);
  if (/^HKCU\\/i.test(key)) return { parts: [{ kind: 'text', text: 'HKU\\' }, { kind: 'any' }, { kind: 'text', text: key.slice(4) }] };
  return literalString(key);
}

function joinPath(...values: SigmaString[]): SigmaString {
  const parts: SigmaString['parts'] = [];
  for (const v of values) {
    for (const p of v.parts) {
      const last = parts[parts.length - 1];
      if (p.kind === 'text' && last?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: last.text + p.text };
      else parts.push(p);
    }
  }
  return { parts };
}

/** A registry value as a Sysmon registry event (EventID 13), the shape hunts evaluate locally. */
export function registryValueEvent(keyPath: string, valueName: string, data: string): Record<string, unknown> {
  return { EventID: 13, EventType: 'SetValue', TargetObject: `${sysmonRegistryPath(keyPath)}\\${valueName}`, Details: data };
}

function item(field: string, values: SigmaValue[], modifiers: string[] = []): DetectionItem {
  return { field, modifiers, values, linking: 'or', negated: false };
}

function text(value: SigmaString): SigmaValue {
  return { kind: 'string', value, cased: false };
}

function registryRule(title: string, category: 'registry_set' | 'registry_event', groups: DetectionItem[][], techniques: string[]): SigmaRule {
  const detections = new Map<string, Detection>();
  for (const [index, items] of groups.entries()) detections.set(`selection${index + 1}`, { kind: 'map', items });
  const names = [...detections.keys()];
  return {
    title,
    references: [],
    logsource: { category, product: 'windows' },
    detections,
    conditions: [names.length === 1 ? { kind: 'ref', name: names[0] as string } : { kind: 'of', quantifier: 'one', pattern: 'selection*', names }],
    conditionText: [names.length === 1 ? (names[0] as string) : '1 of selection*'],
    fields: ['TargetObject', 'Details'],
    falsepositives: [],
    tags: techniques.map((t) => `attack.${t.toLowerCase()}`),
    attackTechniques: techniques,
  };
}

function digest(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

export function huntFromSigma(ruleText: string, options: HuntOptions = {}): HuntDefinition {
  const rule = parseSigmaRule(ruleText);
  const attack = resolveTechniques([...rule.attackTechniques, ...(options.attack ?? [])], options.catalog);
  return { id: rule.id ?? `sigma--${digest([ruleText])}`, title: options.title ?? rule.title, source: 'sigma', rule, attack };
}

export function huntFromRegistryIoc(ioc: RegistryIoc, options: HuntOptions = {}): HuntDefinition {
  if (typeof ioc?.keyPath !== 'string' || ioc.keyPath.trim() === '')
    throw huntError('keyPath: a registry key path is required (e.g. HKEY_LOCAL_MACHINE\\SOFTWARE\\…\\Run)');
  if (!/^(HK(LM|U|CU|CR)|HKEY_[A-Z_]+)\\/i.test(ioc.keyPath.trim()))
    throw huntError(`keyPath: ${JSON.stringify(ioc.keyPath)} must start with a hive (HKEY_LOCAL_MACHINE\\, HKEY_USERS\\, HKLM\\ …)`);
  if (ioc.valueName !== undefined && typeof ioc.valueName !== 'string') throw huntError('valueName: must be a string');
  if (ioc.data !== undefined && typeof ioc.data !== 'string') throw huntError('data: must be a string');
  const key = sysmonRegistryPath(ioc.keyPath);
  const items: DetectionItem[] = [];
  const keyValue = registryKeyValue(ioc.keyPath);
  const separator = literalString('\\');
  if (ioc.valueName !== undefined) items.push(item('TargetObject', [text(joinPath(keyValue, separator, literalString(ioc.valueName)))]));
  else items.push(item('TargetObject', [text(keyValue), text(withTrailingAny(joinPath(keyValue, separator)))]));
  if (ioc.data !== undefined) items.push(item('Details', [text(literalString(ioc.data))]));
  const attack = resolveTechniques(options.attack ?? [], options.catalog);
  const title = options.title ?? `Registry IOC ${key}${ioc.valueName !== undefined ? `\\${ioc.valueName}` : ''}`;
  const rule = registryRule(
    title,
    ioc.valueName !== undefined ? 'registry_set' : 'registry_event',
    [items],
    attack.map((t) => t.id),
  );
  return { id: `ioc--${digest([key, ioc.valueName ?? '', ioc.data ?? ''])}`, title, source: 'ioc', rule, attack };
}

/** Disjunctive normal form of a comparison expression (OR of ANDs), bounded to keep hunts readable. */
function dnf(expression: ComparisonExpression): Comparison[][] {
  if (expression.kind === 'comparison') return [[expression]];
  const left = dnf(expression.left);
  const right = dnf(expression.right);
  const groups = expression.kind === 'comparison-or' ? [...left, ...right] : left.flatMap((l) => right.map((r) => [...l, ...r]));
  if (groups.length > 32) throw huntError('STIX pattern: too many alternatives (more than 32 once expanded)');
  return groups;
}

function observations(expression: ObservationExpression): ComparisonExpression[] {
  if (expression.kind === 'observation') return [expression.comparison];
  if (expression.kind === 'or') return [...observations(expression.left), ...observations(expression.right)];
  throw huntError(
    `STIX pattern: ${expression.kind === 'and' || expression.kind === 'followedby' ? `observation operator ${expression.kind.toUpperCase()}` : `qualifier ${expression.kind.toUpperCase()}`} cannot be hunted as a registry state (use one observation, or several joined with OR)`,
  );
}

/** `LIKE` patterns: % and _ become Sigma's * and ?; Sigma's own wildcards and backslashes in the text stay literal. */
function likeToSigma(like: string): SigmaString {
  const escaped = like
    .replace(/[\\*?]/g, (c) => `\\${c}`)
    .replace(/%/g, '*')
    .replace(/_/g, '?');
  return parseSigmaString(escaped);
}

function comparisonTarget(c: Comparison): 'key' | 'name' | 'data' {
  if (c.path.objectType !== 'windows-registry-key') throw huntError(`STIX pattern: only windows-registry-key can be hunted here, not ${c.path.objectType}`);
  const steps = c.path.steps.map((s) => (s.kind === 'property' ? s.name : '[]'));
  if (steps.length === 1 && steps[0] === 'key') return 'key';
  if (steps.length === 3 && steps[0] === 'values' && steps[1] === '[]' && (steps[2] === 'name' || steps[2] === 'data')) return steps[2];
  throw huntError(`STIX pattern: windows-registry-key:${steps.join('.').replace('.[]', '[*]')} cannot be hunted (use key, values[*].name, values[*].data)`);
}

function stringLiteral(c: Comparison): string {
  const v = c.value;
  if (v === undefined || Array.isArray(v) || v.kind !== 'string') throw huntError(`STIX pattern: ${c.operator} needs a string value here`);
  return v.value;
}

function groupToItems(group: Comparison[]): DetectionItem[] {
  let key: { kind: 'plain' | 'like'; text: string } | undefined;
  let name: { kind: 'plain' | 'like'; text: string } | undefined;
  const items: DetectionItem[] = [];
  for (const c of group) {
    if (c.negated) throw huntError(`STIX pattern: NOT ${c.operator} cannot be hunted`);
    const target = comparisonTarget(c);
    if (c.operator === 'MATCHES') {
      if (target !== 'data') throw huntError('STIX pattern: MATCHES is supported on values[*].data only');
      items.push(item('Details', [{ kind: 'regex', source: stringLiteral(c), flags: { i: false, m: false, s: false } }], ['re']));
      continue;
    }
    if (c.operator !== '=' && c.operator !== 'LIKE') throw huntError(`STIX pattern: operator ${c.operator} cannot be hunted (use =, LIKE or MATCHES)`);
    const value = { kind: c.operator === '=' ? ('plain' as const) : ('like' as const), text: stringLiteral(c) };
    if (target === 'key') {
      if (key) throw huntError('STIX pattern: one key comparison per alternative');
      key = { ...value, text: value.text.replace(/^HKEY_[A-Z_]+\\/i, (h) => sysmonRegistryPath(`${h}x`).slice(0, -1)).replace(/\\+$/, '') };
    } else if (target === 'name') {
      if (name) throw huntError('STIX pattern: one value-name comparison per alternative');
      name = value;
    } else {
      items.push(item('Details', [text(value.kind === 'plain' ? literalString(value.text) : likeToSigma(value.text))]));
    }
  }
  const sigma = (v: { kind: 'plain' | 'like'; text: string }) => (v.kind === 'plain' ? literalString(v.text) : likeToSigma(v.text));
  const keyValue = (v: { kind: 'plain' | 'like'; text: string }) => {
    const s = sigma(v);
    const first = s.parts[0];
    if (first?.kind === 'text' && /^HKCU\\/i.test(first.text)) {
      return joinPath({ parts: [{ kind: 'text', text: 'HKU\\' }, { kind: 'any' }, { kind: 'text', text: first.text.slice(4) }] }, { parts: s.parts.slice(1) });
    }
    return s;
  };
  const separator = literalString('\\');
  let path: SigmaValue[];
  if (key && name) path = [text(joinPath(keyValue(key), separator, sigma(name)))];
  else if (key) path = [text(keyValue(key)), text(withTrailingAny(joinPath(keyValue(key), separator)))];
  else if (name) path = [text(joinPath({ parts: [{ kind: 'any' }] }, separator, sigma(name)))];
  else throw huntError('STIX pattern: each alternative needs a key or a value name (data alone would hunt every value)');
  return [item('TargetObject', path), ...items];
}

function attackIdsOfIndicator(indicator: Record<string, unknown>): string[] {
  const ids: string[] = [];
  const refs = indicator.external_references;
  if (Array.isArray(refs)) {
    for (const r of refs) {
      if (typeof r === 'object' && r !== null && (r as Record<string, unknown>).source_name === 'mitre-attack') {
        const id = (r as Record<string, unknown>).external_id;
        if (typeof id === 'string' && /^T\d{4}(\.\d{3})?$/i.test(id)) ids.push(id.toUpperCase());
      }
    }
  }
  return ids;
}

/** From a STIX 2.1 indicator object (pattern_type stix) or a bare pattern string. */
export function huntFromStixIndicator(input: unknown, options: HuntOptions = {}): HuntDefinition {
  let pattern: string;
  let indicator: Record<string, unknown> | undefined;
  if (typeof input === 'string') pattern = input;
  else {
    if (typeof input !== 'object' || input === null || (input as Record<string, unknown>).type !== 'indicator')
      throw huntError('a STIX indicator object (type "indicator") or a pattern string is required');
    indicator = input as Record<string, unknown>;
    const validation = validateStix(indicator);
    if (!validation.valid) {
      const first = validation.errors[0];
      throw huntError(`invalid STIX indicator: ${first ? `${first.path}: ${first.message}` : 'see details'}`, { errors: validation.errors });
    }
    if (indicator.pattern_type !== 'stix') throw huntError(`pattern_type ${JSON.stringify(indicator.pattern_type)} cannot be hunted: only STIX patterns`);
    pattern = indicator.pattern as string;
  }
  const ast = parsePattern(pattern);
  const groups = observations(ast).flatMap(dnf).map(groupToItems);
  const attack = resolveTechniques([...(indicator ? attackIdsOfIndicator(indicator) : []), ...(options.attack ?? [])], options.catalog);
  const title =
    options.title ?? (typeof indicator?.name === 'string' ? indicator.name : `STIX pattern ${pattern.length > 60 ? `${pattern.slice(0, 57)}...` : pattern}`);
  const rule = registryRule(
    title,
    'registry_set',
    groups,
    attack.map((t) => t.id),
  );
  const id = typeof indicator?.id === 'string' ? indicator.id : `stix--${digest([pattern])}`;
  return { id, title, source: 'stix', rule, attack };
}

/** The hunt in every backend's language; a backend that cannot express it reports why instead. */
export function huntQueries(hunt: HuntDefinition): HuntQuery[] {
  return CONVERSION_TARGETS.map((target) => {
    try {
      return { target, query: convertSigmaRule(hunt.rule, target) };
    } catch (error) {
      if (error instanceof RiposteError) return { target, error: error.message, code: error.code };
      throw error;
    }
  });
}
