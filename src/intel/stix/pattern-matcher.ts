import { RiposteError } from '../../core/index.ts';
import { networkContains, parseNetwork } from './ip-network.ts';
import type { Observation, StixRecord, StixValue } from './observations.ts';
import type { Comparison, ComparisonExpression, Literal, ObservationExpression } from './pattern-ast.ts';
import { type ParsePatternOptions, parsePattern, parseStixTimestamp, patternError } from './pattern-parser.ts';
import { compileSafeRegex, UnsafeRegexError } from './safe-regex.ts';

/**
 * Compiles a parsed STIX pattern into closures once, then evaluates it against observations (docs/stix.md
 * "Matcher semantics"). Comparisons joined by AND must hold for the same root object; observation
 * expressions combine bindings (observations, an observed-data counting number_observed times) under
 * AND/OR/FOLLOWEDBY and the WITHIN/REPEATS/START-STOP qualifiers. Evaluation is bounded by a step budget so no input can hang it.
 */

export const MATCH_STEP_BUDGET = 1_000_000;

export interface CompiledPattern {
  source: string;
  ast: ObservationExpression;
  /** Object types the pattern mentions (custom ones included). */
  objectTypes: Set<string>;
  matches(observations: Observation[]): boolean;
  /** The observations of the first binding that satisfies the pattern, or undefined. */
  findMatch(observations: Observation[]): Observation[] | undefined;
}

type ObjectTest = (object: StixRecord, observation: Observation) => boolean;
type ObservationTest = (observation: Observation) => boolean;

/** Unicode NFC, skipping the work for plain ASCII (the common case). */
export function nfc(text: string): string {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return text.normalize('NFC');
  return text;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * How a property's string value is read: STIX names binary properties `…_bin` (base64) and hex ones `…_hex`;
 * everything else is text. Binary values compare as bytes and, for LIKE/MATCHES and string literals, as
 * the Latin-1 string of those bytes.
 */
type PropertyEncoding = 'text' | 'base64' | 'hex';

function encodingOf(comparison: Comparison): PropertyEncoding {
  let name = '';
  for (const step of comparison.path.steps) if (step.kind === 'property') name = step.name;
  return name.endsWith('_bin') ? 'base64' : name.endsWith('_hex') ? 'hex' : 'text';
}

function latin1Bytes(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) return undefined;
    bytes[i] = code;
  }
  return bytes;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 255) return false;
  return true;
}

function bytesOf(value: string, encoding: PropertyEncoding): Uint8Array | undefined {
  if (encoding === 'base64') return BASE64.test(value) ? new Uint8Array(Buffer.from(value, 'base64')) : undefined;
  if (encoding === 'hex') return HEX.test(value) ? new Uint8Array(Buffer.from(value, 'hex')) : undefined;
  return latin1Bytes(value);
}

/** The text LIKE, MATCHES and string literals see: NFC text, or the Latin-1 string of a binary value. */
function textOf(value: StixValue, encoding: PropertyEncoding): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (encoding === 'text') return nfc(value);
  const bytes = bytesOf(value, encoding);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return Math.sign((a[i] as number) - (b[i] as number));
  return Math.sign(a.length - b.length);
}

/** Orders two STIX timestamps exactly (sub-millisecond digits included). */
function compareTimestampText(value: string, literal: Literal & { kind: 'timestamp' }): number {
  const ms = parseStixTimestamp(value);
  if (ms === undefined) {
    // A timestamp literal says the property holds timestamps: a malformed one is an error, not a silent miss.
    throw new RiposteError(
      'stix.match_invalid_timestamp',
      `observed value ${JSON.stringify(value)} compared with t'${literal.value}' is not a STIX timestamp`,
      { status: 422 },
    );
  }
  const whole = (text: string) => Date.parse(`${text.slice(0, 19)}Z`);
  const fraction = (text: string) => (/\.(\d+)Z$/.exec(text)?.[1] ?? '').padEnd(12, '0');
  const byWhole = Math.sign(whole(value) - whole(literal.value));
  if (byWhole !== 0 || Number.isNaN(byWhole)) return Number.isNaN(byWhole) ? Math.sign(ms - literal.epochMs) : byWhole;
  const a = fraction(value);
  const b = fraction(literal.value);
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * Orders a property value against a literal per the coercion rules: numbers with int/float literals, text
 * (NFC, code-unit order) with string literals, RFC 3339 text with timestamp literals, bytes with binary/hex
 * literals, booleans with boolean literals. Undefined when the two cannot be compared: then `=` is false,
 * `!=` true, and ordering false.
 */
function compareToLiteral(value: StixValue, literal: Literal, normalisedString: string | undefined, encoding: PropertyEncoding): number | undefined {
  switch (literal.kind) {
    case 'string': {
      if (typeof value !== 'string') return undefined;
      const literalText = normalisedString as string;
      if (encoding !== 'text' && !isLatin1(literalText)) return undefined;
      const text = textOf(value, encoding);
      return text === undefined ? undefined : text === literalText ? 0 : text < literalText ? -1 : 1;
    }
    case 'int':
    case 'float':
      return typeof value === 'number' ? Math.sign(value - literal.value) : undefined;
    case 'bool':
      return typeof value === 'boolean' ? (value === literal.value ? 0 : value ? 1 : -1) : undefined;
    case 'timestamp':
      return typeof value === 'string' ? compareTimestampText(value, literal) : undefined;
    case 'binary':
    case 'hex': {
      if (typeof value !== 'string') return undefined;
      const bytes = bytesOf(value, encoding);
      return bytes === undefined ? undefined : compareBytes(bytes, literal.bytes);
    }
  }
}

function likeToRegex(like: string): RegExp {
  let source = '^';
  for (const ch of like) {
    if (ch === '%') source += '[\\s\\S]*';
    else if (ch === '_') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 'u');
}

/** True/false per value; never undefined: incomparable values already resolved per operator. */
type ValueTest = (value: StixValue) => boolean;

const literalFamily = (l: Literal) => (l.kind === 'int' || l.kind === 'float' ? 'number' : l.kind === 'hex' || l.kind === 'binary' ? 'bytes' : l.kind);

function compileValueTest(comparison: Comparison, source: string): ValueTest {
  const { operator } = comparison;
  const literal = comparison.value;
  const encoding = encodingOf(comparison);
  const single = Array.isArray(literal) ? undefined : literal;
  const normalised = single?.kind === 'string' ? nfc(single.value) : undefined;
  switch (operator) {
    case '=':
      if (single?.kind === 'string' && encoding === 'text') return (v) => typeof v === 'string' && nfc(v) === normalised;
      return (v) => compareToLiteral(v, single as Literal, normalised, encoding) === 0;
    case '!=':
      return (v) => compareToLiteral(v, single as Literal, normalised, encoding) !== 0;
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (v) => {
        const order = compareToLiteral(v, single as Literal, normalised, encoding);
        if (order === undefined) return false;
        return operator === '<' ? order < 0 : operator === '<=' ? order <= 0 : operator === '>' ? order > 0 : order >= 0;
      };
    case 'IN': {
      const list = literal as Literal[];
      const first = list[0];
      const mixed = first ? list.find((l) => literalFamily(l) !== literalFamily(first)) : undefined;
      if (mixed)
        throw patternError(source, mixed.offset, `IN set elements must all be of one type (${literalFamily(first as Literal)}), not ${literalFamily(mixed)}`);
      const set = list.map((l) => ({ l, n: l.kind === 'string' ? nfc(l.value) : undefined }));
      return (v) => {
        for (const { l, n } of set) if (compareToLiteral(v, l, n, encoding) === 0) return true;
        return false;
      };
    }
    case 'LIKE': {
      const regex = likeToRegex(normalised as string);
      return (v) => {
        const text = textOf(v, encoding);
        return text !== undefined && regex.test(text);
      };
    }
    case 'MATCHES': {
      let regex: ReturnType<typeof compileSafeRegex>;
      try {
        regex = compileSafeRegex(normalised as string);
      } catch (error) {
        throw patternError(source, (single as Literal).offset, `MATCHES ${(error as Error).message}`);
      }
      return (v) => {
        const text = textOf(v, encoding);
        return text !== undefined && regex.test(text);
      };
    }
    case 'ISSUBSET':
    case 'ISSUPERSET': {
      const network = parseNetwork(normalised as string);
      if (!network)
        throw patternError(source, (single as Literal).offset, `${operator} needs an IPv4 or IPv6 address or CIDR network, not '${normalised}'`, [
          'IP address or CIDR',
        ]);
      return (v) => {
        if (typeof v !== 'string') return false;
        const own = parseNetwork(v);
        if (!own || own.family !== network.family) return false;
        return operator === 'ISSUBSET' ? networkContains(network, own) : networkContains(own, network);
      };
    }
    case 'EXISTS':
      return () => true;
  }
}

const isRefProperty = (name: string) => name.endsWith('_ref') || name.endsWith('_refs');

/** Resolves an object path (after the root) to the values it reaches; `[*]` fans out, `_ref`s dereference. */
function compilePathWalk(comparison: Comparison): (root: StixRecord, observation: Observation) => StixValue[] {
  const steps = comparison.path.steps;
  if (steps.length === 1 && steps[0]?.kind === 'property') {
    const name = steps[0].name;
    return (root) => {
      const v = root[name];
      return v === undefined ? [] : [v];
    };
  }
  return (root, observation) => {
    let current: StixValue[] = [root];
    let previousProperty = '';
    for (const step of steps) {
      const next: StixValue[] = [];
      for (let value of current) {
        if (step.kind === 'property') {
          if (typeof value === 'string' && isRefProperty(previousProperty)) value = observation.resolve(value) ?? null;
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
            const child = value[step.name];
            if (child !== undefined) next.push(child);
          }
        } else if (Array.isArray(value)) {
          if (step.kind === 'any-index') next.push(...value);
          else {
            const i = step.index < 0 ? value.length + step.index : step.index;
            const child = value[i];
            if (child !== undefined) next.push(child);
          }
        }
      }
      if (step.kind === 'property') previousProperty = step.name;
      current = next;
      if (current.length === 0) break;
    }
    return current;
  };
}

function compileComparison(comparison: Comparison, source: string): ObjectTest {
  const walk = compilePathWalk(comparison);
  if (comparison.operator === 'EXISTS') {
    return comparison.negated ? (o, obs) => walk(o, obs).length === 0 : (o, obs) => walk(o, obs).length > 0;
  }
  const test = compileValueTest(comparison, source);
  const negated = comparison.negated;
  return (object, observation) => {
    // Any value (several with [*]) satisfying the operator, or its negation with NOT, satisfies the comparison;
    // an absent property satisfies nothing.
    for (const value of walk(object, observation)) if (test(value) !== negated) return true;
    return false;
  };
}

function typesOf(expression: ComparisonExpression, into = new Set<string>()): Set<string> {
  // Iterative: an IOC list written as thousands of ORs is a tree thousands of levels deep.
  const stack: ComparisonExpression[] = [expression];
  while (stack.length > 0) {
    const node = stack.pop() as ComparisonExpression;
    if (node.kind === 'comparison') into.add(node.path.objectType);
    else stack.push(node.right, node.left);
  }
  return into;
}

/** The operands of a chain of one operator (`a OR b OR c` → [a, b, c]), gathered without recursion. */
function chainOperands(expression: ComparisonExpression & { kind: 'comparison-and' | 'comparison-or' }): ComparisonExpression[] {
  const operands: ComparisonExpression[] = [];
  const stack: ComparisonExpression[] = [expression];
  while (stack.length > 0) {
    const node = stack.pop() as ComparisonExpression;
    if (node.kind !== 'comparison' && node.kind === expression.kind) stack.push(node.right, node.left);
    else operands.push(node);
  }
  return operands;
}

function compileObjectLevel(expression: ComparisonExpression, source: string, checkType: boolean): ObjectTest {
  if (expression.kind === 'comparison') {
    const test = compileComparison(expression, source);
    if (!checkType) return test;
    const type = expression.path.objectType;
    return (o, obs) => o.type === type && test(o, obs);
  }
  const tests = chainOperands(expression).map((operand) => compileObjectLevel(operand, source, checkType));
  if (expression.kind === 'comparison-and') {
    return (o, obs) => {
      for (const test of tests) if (!test(o, obs)) return false;
      return true;
    };
  }
  return (o, obs) => {
    for (const test of tests) if (test(o, obs)) return true;
    return false;
  };
}

/**
 * A comparison expression over one observation. It selects root objects: a comparison the objects of its type
 * that pass, AND the objects selected by both sides (so AND binds to one object, and AND across two object
 * types selects nothing), OR those selected by either. The observation matches when something is selected.
 */
function compileObservationTest(expression: ComparisonExpression, source: string): ObservationTest {
  const types = [...typesOf(expression)];
  const test = compileObjectLevel(expression, source, types.length > 1);
  if (types.length === 1) {
    const type = types[0] as string;
    return (observation) => {
      const candidates = observation.objectsByType.get(type);
      if (!candidates) return false;
      for (const object of candidates) if (test(object, observation)) return true;
      return false;
    };
  }
  return (observation) => {
    for (const type of types) {
      const candidates = observation.objectsByType.get(type);
      if (candidates) for (const object of candidates) if (test(object, observation)) return true;
    }
    return false;
  };
}

/** Observation indices that jointly satisfy an observation expression (an index repeats when copies are used). */
type Binding = number[];

interface EvalContext {
  observations: Observation[];
  steps: number;
}

function tick(context: EvalContext): void {
  context.steps++;
  if (context.steps > MATCH_STEP_BUDGET) {
    throw new RiposteError('stix.match_budget_exceeded', `pattern evaluation exceeded ${MATCH_STEP_BUDGET} steps (too many observation combinations)`, {
      status: 422,
    });
  }
}

type BindingSource = (context: EvalContext) => Iterable<Binding>;

/**
 * Whether two bindings can be combined: an observed-data with number_observed n stands for n observations,
 * so it may appear up to n times across the combined binding (and `[x] AND [x]` holds for one observed-data
 * seen twice).
 */
function fits(a: Binding, b: Binding, context: EvalContext): boolean {
  for (const x of b) {
    let uses = 0;
    for (const y of a) if (y === x) uses++;
    for (const y of b) if (y === x) uses++;
    if (uses > (context.observations[x] as Observation).numberObserved) return false;
  }
  return true;
}

function earliest(binding: Binding, context: EvalContext): number {
  let min = Number.POSITIVE_INFINITY;
  for (const i of binding) min = Math.min(min, (context.observations[i] as Observation).firstObserved);
  return min;
}

function latestStart(binding: Binding, context: EvalContext): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const i of binding) max = Math.max(max, (context.observations[i] as Observation).firstObserved);
  return max;
}

function earliestEnd(binding: Binding, context: EvalContext): number {
  let min = Number.POSITIVE_INFINITY;
  for (const i of binding) min = Math.min(min, (context.observations[i] as Observation).lastObserved);
  return min;
}

function compileBindings(expression: ObservationExpression, source: string): BindingSource {
  switch (expression.kind) {
    case 'observation': {
      const test = compileObservationTest(expression.comparison, source);
      return function* (context) {
        const { observations } = context;
        for (let i = 0; i < observations.length; i++) {
          tick(context);
          if (test(observations[i] as Observation)) yield [i];
        }
      };
    }
    case 'or': {
      const left = compileBindings(expression.left, source);
      const right = compileBindings(expression.right, source);
      return function* (context) {
        yield* left(context);
        yield* right(context);
      };
    }
    case 'and':
    case 'followedby': {
      const left = compileBindings(expression.left, source);
      const right = compileBindings(expression.right, source);
      const ordered = expression.kind === 'followedby';
      return function* (context) {
        const rights: Binding[] = [];
        for (const r of right(context)) rights.push(r);
        if (rights.length === 0) return;
        for (const l of left(context)) {
          // FOLLOWEDBY holds when timestamps can be chosen inside each observation's interval so that the
          // left side comes no later than the right: latest left first_observed ≤ earliest right last_observed.
          const lLatest = ordered ? latestStart(l, context) : 0;
          for (const r of rights) {
            tick(context);
            if (!fits(l, r, context)) continue;
            if (ordered && lLatest > earliestEnd(r, context)) continue;
            yield [...l, ...r];
          }
        }
      };
    }
    case 'within': {
      const inner = compileBindings(expression.expression, source);
      const windowMs = expression.seconds * 1000;
      return function* (context) {
        for (const b of inner(context)) {
          tick(context);
          // Some window of that length must touch every observation's [first, last] interval.
          if (latestStart(b, context) - earliestEnd(b, context) <= windowMs) yield b;
        }
      };
    }
    case 'start-stop': {
      const inner = compileBindings(expression.expression, source);
      const start = expression.start.epochMs;
      const stop = expression.stop.epochMs;
      // Each observation's [first_observed, last_observed] must overlap [start, stop): touching the start
      // counts, touching only the stop does not; an empty window matches nothing.
      return function* (context) {
        if (!(start < stop)) return;
        for (const b of inner(context)) {
          tick(context);
          let inside = true;
          for (const i of b) {
            const o = context.observations[i] as Observation;
            if (!(o.firstObserved < stop && o.lastObserved >= start)) {
              inside = false;
              break;
            }
          }
          if (inside) yield b;
        }
      };
    }
    case 'repeats': {
      const inner = compileBindings(expression.expression, source);
      const times = expression.times;
      return function* (context) {
        const all: Binding[] = [];
        for (const b of inner(context)) all.push(b);
        all.sort((a, b) => earliest(a, context) - earliest(b, context));
        // From each starting binding, greedily gather it and later bindings (each as often as the observations'
        // number_observed allows) until there are `times` of them. Each start yields a candidate, so an
        // enclosing WITHIN can pick the tightest group.
        for (let s = 0; s < all.length; s++) {
          const chosen: Binding = [];
          let count = 0;
          for (let i = s; i < all.length && count < times; i++) {
            const b = all[i] as Binding;
            while (count < times && fits(chosen, b, context)) {
              tick(context);
              chosen.push(...b);
              count++;
            }
            tick(context);
          }
          if (count >= times) yield chosen;
          else return;
        }
      };
    }
  }
}

function collectTypes(expression: ObservationExpression, into: Set<string>): void {
  if (expression.kind === 'observation') typesOf(expression.comparison, into);
  else if ('expression' in expression) collectTypes(expression.expression, into);
  else {
    collectTypes(expression.left, into);
    collectTypes(expression.right, into);
  }
}

/** Parses and compiles a pattern (or compiles an already parsed one). Throws `stix.pattern_invalid`. */
export function compilePattern(source: string, options: ParsePatternOptions = {}, ast: ObservationExpression = parsePattern(source, options)): CompiledPattern {
  const bindings = compileBindings(ast, source);
  const objectTypes = new Set<string>();
  collectTypes(ast, objectTypes);
  // A single observation expression is the common case: test observations directly, no binding machinery.
  const direct = ast.kind === 'observation' ? compileObservationTest(ast.comparison, source) : undefined;
  const findMatch = (observations: Observation[]): Observation[] | undefined => {
    if (direct) {
      for (const o of observations) if (direct(o)) return [o];
      return undefined;
    }
    const context: EvalContext = { observations, steps: 0 };
    for (const binding of bindings(context)) return [...new Set(binding)].map((i) => observations[i] as Observation);
    return undefined;
  };
  return {
    source,
    ast,
    objectTypes,
    findMatch,
    matches: (observations) => findMatch(observations) !== undefined,
  };
}

export { UnsafeRegexError };
