import { RiposteError } from '../../core/index.ts';
import { BACKTRACKING_INPUT_LIMIT, compileSafeRegex, networkContains, parseNetwork } from '../../intel/stix/index.ts';
import { requiredLiteral } from './regex-prefilter.ts';
import type { Condition, Detection, DetectionItem, SigmaRule, SigmaValue } from './rule-model.ts';
import { compileStringMatcher, withLeadingAny, withTrailingAny } from './sigma-string.ts';

/**
 * Local evaluation of Sigma rules over JSON events (Sysmon EventData-style flat objects; dotted field names
 * also reach into nested objects). A rule is compiled once into closures; per event, string fields are
 * lower-cased at most once however many rules look at them (see EventView).
 *
 * Semantics, per the specification: values match case-insensitively unless `cased`; lists of values are
 * OR'd (AND'd with `all`), map entries AND'd, lists of maps OR'd; a field holding an array matches when any
 * element does; `null` matches a missing or null field; `exists` tests presence only; keywords match when
 * any value anywhere in the event contains them.
 */

export type SigmaEvent = Record<string, unknown>;

/** One event as the compiled rules see it, with per-event caches. */
export class EventView {
  readonly event: SigmaEvent;
  private readonly lowered = new Map<string, string | undefined>();
  private keywordValues: Array<{ text: string; lower: string }> | undefined;

  constructor(event: SigmaEvent) {
    this.event = event;
  }

  has(field: string): boolean {
    if (Object.hasOwn(this.event, field)) return true;
    return field.includes('.') && nested(this.event, field) !== undefined;
  }

  get(field: string): unknown {
    const direct = Object.hasOwn(this.event, field) ? this.event[field] : undefined;
    if (direct !== undefined || !field.includes('.')) return direct;
    return nested(this.event, field);
  }

  /** The field's scalar value as lower-cased text (undefined for missing, null, objects and arrays). */
  lower(field: string): string | undefined {
    if (this.lowered.has(field)) return this.lowered.get(field);
    const text = scalarText(this.get(field));
    const lower = text === undefined ? undefined : text.toLowerCase();
    this.lowered.set(field, lower);
    return lower;
  }

  /** Every scalar value in the event (nested too), for keyword searches. */
  keywords(): Array<{ text: string; lower: string }> {
    if (!this.keywordValues) {
      const out: Array<{ text: string; lower: string }> = [];
      collectScalars(this.event, out, 0);
      this.keywordValues = out;
    }
    return this.keywordValues;
  }
}

function nested(event: SigmaEvent, field: string): unknown {
  let node: unknown = event;
  for (const step of field.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, step)) return undefined;
    node = (node as Record<string, unknown>)[step];
  }
  return node;
}

function collectScalars(value: unknown, out: Array<{ text: string; lower: string }>, depth: number): void {
  if (depth > 32) return;
  if (Array.isArray(value)) {
    for (const v of value) collectScalars(v, out, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) collectScalars(v, out, depth + 1);
  } else {
    const text = scalarText(value);
    if (text !== undefined) out.push({ text, lower: text.toLowerCase() });
  }
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  if (typeof value === 'string' && /^\s*0x[0-9a-f]+\s*$/i.test(value)) return Number.parseInt(value, 16);
  return undefined;
}

/** Tests one scalar: `text` is its string form, `lower` that lower-cased (given when the item needs it). */
type ScalarTest = (value: unknown, text: string | undefined, lower: string | undefined) => boolean;

function regexFlagsPrefix(flags: { i: boolean; m: boolean; s: boolean }): string {
  return flags.i || flags.m || flags.s ? `(?${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''})` : '';
}

function compileValue(value: SigmaValue, keyword: boolean): ScalarTest {
  switch (value.kind) {
    case 'string': {
      const pattern = keyword ? withTrailingAny(withLeadingAny(value.value)) : value.value;
      const match = compileStringMatcher(pattern, value.cased);
      if (value.cased) return (_v, text) => text !== undefined && match(text);
      return (_v, _text, lower) => lower !== undefined && match(lower);
    }
    case 'regex': {
      const regex = compileSafeRegex(regexFlagsPrefix(value.flags) + value.source);
      // Values without the regex's required literal cannot match: skip the (slower, linear-time) regex.
      const literal = requiredLiteral(value.source);
      const needle = literal === undefined || (value.flags.i && !/^[\x20-\x7e]*$/.test(literal)) ? undefined : value.flags.i ? literal.toLowerCase() : literal;
      const run = (text: string): boolean => {
        if (!regex.linear && text.length > BACKTRACKING_INPUT_LIMIT) {
          // Refused rather than skipped: a silent non-match would hide the event from the hunt.
          throw new RiposteError(
            'sigma.match_input_too_long',
            `re: a value of ${text.length} characters is longer than the ${BACKTRACKING_INPUT_LIMIT} allowed for this regular expression (its counted repetitions need the backtracking engine)`,
            { status: 422 },
          );
        }
        return regex.test(text);
      };
      if (needle === undefined) return (_v, text) => text !== undefined && run(text);
      if (value.flags.i) {
        return (_v, text, lower) => (lower?.includes(needle) ?? false) && run(text as string);
      }
      return (_v, text) => (text?.includes(needle) ?? false) && run(text as string);
    }
    case 'cidr': {
      const network = value.network;
      return (_v, text) => {
        if (text === undefined || text.includes('/')) return false;
        const address = parseNetwork(text.trim());
        return address !== undefined && networkContains(network, address);
      };
    }
    case 'number':
      return (v, text) => {
        if (typeof v === 'number') return v === value.value;
        if (text === undefined) return false;
        if (text === value.text) return true;
        const n = numberOf(text);
        return n !== undefined && n === value.value;
      };
    case 'bool':
      return (v, text) => v === value.value || (typeof v === 'string' && text?.toLowerCase() === String(value.value));
    case 'compare':
      return (v) => {
        const n = numberOf(v);
        if (n === undefined || Number.isNaN(n)) return false;
        switch (value.op) {
          case 'gt':
            return n > value.value;
          case 'gte':
            return n >= value.value;
          case 'lt':
            return n < value.value;
          case 'lte':
            return n <= value.value;
        }
        return false;
      };
    case 'null':
    case 'exists':
      // Handled on the field, not per scalar.
      return () => false;
  }
}

type Predicate = (view: EventView) => boolean;

function needsLower(value: SigmaValue): boolean {
  return (value.kind === 'string' && !value.cased) || (value.kind === 'regex' && value.flags.i);
}

function compileItem(item: DetectionItem): Predicate {
  const predicate = item.values.some((v) => v.kind === 'exists' || v.kind === 'null') ? compilePresenceItem(item) : compileScalarItem(item);
  if (!item.negated) return predicate;
  return (view) => !predicate(view);
}

/** The common case: every value tests the field's content. The field is read (and lower-cased) once. */
function compileScalarItem(item: DetectionItem): Predicate {
  const keyword = item.field === null;
  const tests = item.values.map((v) => compileValue(v, keyword));
  const lower = item.values.some(needsLower);
  const all = item.linking === 'and';
  const single = tests.length === 1 ? (tests[0] as ScalarTest) : undefined;
  const anyTest: ScalarTest = single
    ? single
    : (v, text, l) => {
        for (const t of tests) if (t(v, text, l)) return true;
        return false;
      };
  const elementText = (element: unknown) => {
    const text = scalarText(element);
    return { text, lower: lower && text !== undefined ? text.toLowerCase() : undefined };
  };
  if (keyword) {
    if (!all || single) {
      return (view) => {
        for (const k of view.keywords()) if (anyTest(k.text, k.text, k.lower)) return true;
        return false;
      };
    }
    return (view) => tests.every((t) => view.keywords().some((k) => t(k.text, k.text, k.lower)));
  }
  const name = item.field as string;
  return (view) => {
    const v = view.get(name);
    if (v === undefined) return false;
    if (Array.isArray(v)) {
      const elements = v.map((element) => ({ element, ...elementText(element) }));
      if (!all || single) return elements.some((e) => anyTest(e.element, e.text, e.lower));
      return tests.every((t) => elements.some((e) => t(e.element, e.text, e.lower)));
    }
    const text = scalarText(v);
    const l = lower ? view.lower(name) : undefined;
    if (!all || single) return anyTest(v, text, l);
    for (const t of tests) if (!t(v, text, l)) return false;
    return true;
  };
}

/** Items with `exists` or `null` values look at presence as well as content. */
function compilePresenceItem(item: DetectionItem): Predicate {
  const name = item.field as string;
  const tests: Predicate[] = item.values.map((value): Predicate => {
    if (value.kind === 'exists') {
      const want = value.value;
      return (view) => view.has(name) === want;
    }
    if (value.kind === 'null') {
      return (view) => {
        const v = view.get(name);
        return v === undefined || v === null;
      };
    }
    return compileScalarItem({ ...item, values: [value], negated: false });
  });
  if (tests.length === 1) return tests[0] as Predicate;
  if (item.linking === 'and') return (view) => tests.every((t) => t(view));
  return (view) => tests.some((t) => t(view));
}

function compileDetection(detection: Detection): Predicate {
  switch (detection.kind) {
    case 'keywords':
      return compileItem(detection.item);
    case 'map': {
      const items = detection.items.map(compileItem);
      if (items.length === 1) return items[0] as Predicate;
      return (view) => {
        for (const item of items) if (!item(view)) return false;
        return true;
      };
    }
    case 'any': {
      const alternatives = detection.detections.map(compileDetection);
      return (view) => {
        for (const a of alternatives) if (a(view)) return true;
        return false;
      };
    }
  }
}

function compileCondition(condition: Condition, identifiers: Map<string, Predicate>): Predicate {
  switch (condition.kind) {
    case 'ref':
      return identifiers.get(condition.name) as Predicate;
    case 'not': {
      const inner = compileCondition(condition.operand, identifiers);
      return (view) => !inner(view);
    }
    case 'and': {
      const operands = condition.operands.map((o) => compileCondition(o, identifiers));
      return (view) => operands.every((o) => o(view));
    }
    case 'or': {
      const operands = condition.operands.map((o) => compileCondition(o, identifiers));
      return (view) => operands.some((o) => o(view));
    }
    case 'of': {
      const operands = condition.names.map((n) => identifiers.get(n) as Predicate);
      return condition.quantifier === 'all' ? (view) => operands.every((o) => o(view)) : (view) => operands.some((o) => o(view));
    }
  }
}

export interface CompiledSigmaRule {
  rule: SigmaRule;
  /** True when the event matches the rule. */
  matches(event: SigmaEvent): boolean;
  /** The same against an EventView shared by several rules. */
  matchesView(view: EventView): boolean;
}

export function compileSigmaRule(rule: SigmaRule): CompiledSigmaRule {
  const identifiers = new Map<string, Predicate>();
  for (const [name, detection] of rule.detections) identifiers.set(name, compileDetection(detection));
  const conditions = rule.conditions.map((c) => compileCondition(c, identifiers));
  const matchesView: Predicate = conditions.length === 1 ? (conditions[0] as Predicate) : (view) => conditions.some((c) => c(view));
  return { rule, matchesView, matches: (event) => matchesView(new EventView(event)) };
}

/** Many rules over one event stream: each event is wrapped once and shared by every rule. */
export class SigmaRuleSet {
  readonly rules: CompiledSigmaRule[];
  constructor(rules: SigmaRule[]) {
    this.rules = rules.map(compileSigmaRule);
  }

  /** The rules the event matches, in the order given. */
  matching(event: SigmaEvent): SigmaRule[] {
    const view = new EventView(event);
    const out: SigmaRule[] = [];
    for (const r of this.rules) if (r.matchesView(view)) out.push(r.rule);
    return out;
  }
}
