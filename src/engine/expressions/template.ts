import { parse, tokenize } from '@huggingface/jinja';
import { contains, FILTERS, TESTS } from './filters.ts';
import { compareValues, type DataValue, deepEqual, ExpressionError, isPlainObject, isTruthy, memberOf, toData, toText, typeName } from './values.ts';

/**
 * Jinja2-syntax templates for playbooks. `@huggingface/jinja` only lexes and parses; this file
 * interprets the syntax tree itself over plain data (see values.ts), with a closed list of filters,
 * tests and methods, no user-defined macros and a budget on work per evaluation. Nothing from the data
 * is ever parsed: a string that came out of a step's output stays a string, even if it looks like `{{ … }}`.
 *
 * A string that is exactly one `{{ expression }}` evaluates to the expression's typed value (number, list,
 * object …); any other string with `{{`/`{%` renders to text; a string without them is returned as is.
 */

// The parser's nodes, as far as this interpreter reads them.
interface Node {
  type: string;
  value?: unknown;
  object?: Node;
  property?: Node;
  computed?: boolean;
  callee?: Node;
  args?: Node[];
  operator?: { value: string };
  left?: Node;
  right?: Node;
  operand?: Node;
  filter?: Node;
  negate?: boolean;
  test?: Node;
  argument?: Node;
  condition?: Node;
  trueExpr?: Node;
  falseExpr?: Node;
  body?: Node[];
  alternate?: Node[];
  loopvar?: Node;
  iterable?: Node;
  defaultBlock?: Node[];
  assignee?: Node;
  key?: Node;
  start?: Node;
  stop?: Node;
  step?: Node;
}

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

export interface CompiledTemplate {
  readonly source: string;
  /** literal: no template syntax; expression: exactly one `{{ … }}`; text: rendered to a string. */
  readonly kind: 'literal' | 'expression' | 'text';
  /** Root names the template reads (inputs, steps, item …), for validation. */
  readonly roots: ReadonlySet<string>;
  evaluate(context: Readonly<Record<string, DataValue>>): DataValue;
}

/** Nodes visited per evaluation before giving up; generous for real playbooks, fatal for runaway loops. */
export const EVALUATION_BUDGET = 1_000_000;
/** Longest text a template may render. */
export const OUTPUT_LIMIT = 1_000_000;

const TEMPLATE_MARK = /\{\{|\{%|\{#/;

export function hasTemplateSyntax(text: string): boolean {
  return TEMPLATE_MARK.test(text);
}

const cache = new Map<string, CompiledTemplate>();
const CACHE_LIMIT = 10_000;

/** Parses once (cached by source); throws TemplateSyntaxError naming the problem. */
export function compileTemplate(source: string): CompiledTemplate {
  let compiled = cache.get(source);
  if (compiled === undefined) {
    compiled = compileUncached(source);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(source, compiled);
  }
  return compiled;
}

function compileUncached(source: string): CompiledTemplate {
  if (!hasTemplateSyntax(source)) {
    return { source, kind: 'literal', roots: new Set(), evaluate: () => source };
  }
  let tokens: Array<{ type: string; value: string }>;
  let program: Node;
  try {
    tokens = tokenize(source, { lstrip_blocks: true, trim_blocks: true }) as Array<{ type: string; value: string }>;
    program = parse(tokens as never) as unknown as Node;
  } catch (error) {
    throw new TemplateSyntaxError(`template syntax error in ${JSON.stringify(abbreviate(source))}: ${(error as Error).message}`);
  }
  const roots = new Set<string>();
  checkNodes(program.body ?? [], roots, new Set());
  const first = tokens[0];
  const last = tokens.at(-1);
  const single =
    first?.type === 'OpenExpression' &&
    last?.type === 'CloseExpression' &&
    tokens.filter((t) => t.type === 'OpenExpression' || t.type === 'OpenStatement' || t.type === 'Text').length === 1 &&
    program.body?.length === 1 &&
    source.trim() === source;
  if (single) {
    const expression = program.body?.[0] as Node;
    return { source, kind: 'expression', roots, evaluate: (context) => new Evaluation(context).expression(expression) };
  }
  return {
    source,
    kind: 'text',
    roots,
    evaluate: (context) => {
      const evaluation = new Evaluation(context);
      evaluation.block(program.body ?? []);
      return evaluation.output;
    },
  };
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const STATEMENTS = new Set(['If', 'For', 'Set', 'Break', 'Continue', 'Comment']);
const METHODS: Record<string, ReadonlySet<string>> = {
  string: new Set(['lower', 'upper', 'strip', 'lstrip', 'rstrip', 'startswith', 'endswith', 'split', 'replace', 'title', 'capitalize']),
  mapping: new Set(['items', 'keys', 'values', 'get']),
};
const ALL_METHODS = new Set([...(METHODS.string ?? []), ...(METHODS.mapping ?? [])]);
const GLOBAL_FUNCTIONS = new Set(['range', 'dict']);
const CONSTANTS = new Set(['true', 'false', 'none', 'True', 'False', 'None']);

/** Static checks at compile time: unknown filters/tests/functions and unsupported statements are errors now, not mid-run. */
function checkNodes(nodes: Node[], roots: Set<string>, locals: Set<string>): void {
  for (const node of nodes) checkNode(node, roots, locals);
}

function checkNode(node: Node | undefined, roots: Set<string>, locals: Set<string>): void {
  if (node === undefined || node === null) return;
  switch (node.type) {
    case 'StringLiteral':
    case 'IntegerLiteral':
    case 'FloatLiteral':
    case 'Comment':
    case 'Break':
    case 'Continue':
      return;
    case 'Identifier': {
      const name = node.value as string;
      if (!CONSTANTS.has(name) && !locals.has(name)) roots.add(name);
      return;
    }
    case 'ArrayLiteral':
    case 'TupleLiteral':
      checkNodes(node.value as Node[], roots, locals);
      return;
    case 'ObjectLiteral':
      for (const [key, value] of node.value as Map<Node, Node>) {
        checkNode(key, roots, locals);
        checkNode(value, roots, locals);
      }
      return;
    case 'MemberExpression':
      checkNode(node.object, roots, locals);
      if (node.computed) checkNode(node.property, roots, locals);
      return;
    case 'CallExpression': {
      const callee = node.callee as Node;
      if (callee.type === 'Identifier') {
        if (!GLOBAL_FUNCTIONS.has(callee.value as string))
          throw new TemplateSyntaxError(`unknown function ${callee.value}(); functions are: ${[...GLOBAL_FUNCTIONS].join(', ')}`);
      } else if (callee.type === 'MemberExpression' && !callee.computed && callee.property?.type === 'Identifier') {
        if (!ALL_METHODS.has(callee.property.value as string)) throw new TemplateSyntaxError(`unknown method .${callee.property.value}()`);
        checkNode(callee.object, roots, locals);
      } else {
        throw new TemplateSyntaxError('only named functions and methods can be called');
      }
      checkNodes(node.args ?? [], roots, locals);
      return;
    }
    case 'KeywordArgumentExpression':
      checkNode(node.value as Node, roots, locals);
      return;
    case 'BinaryExpression':
      checkNode(node.left, roots, locals);
      checkNode(node.right, roots, locals);
      return;
    case 'UnaryExpression':
      checkNode(node.argument, roots, locals);
      return;
    case 'FilterExpression': {
      const filter = node.filter as Node;
      const name = (filter.type === 'CallExpression' ? filter.callee?.value : filter.value) as string;
      if (!FILTERS.has(name)) throw new TemplateSyntaxError(`unknown filter "${name}" (see docs/playbooks.md for the list)`);
      checkNode(node.operand, roots, locals);
      if (filter.type === 'CallExpression') checkNodes(filter.args ?? [], roots, locals);
      return;
    }
    case 'TestExpression': {
      const name = node.test?.value as string;
      if (!TESTS.has(name)) throw new TemplateSyntaxError(`unknown test "${name}"`);
      checkNode(node.operand, roots, locals);
      return;
    }
    case 'Ternary':
      checkNode(node.condition, roots, locals);
      checkNode(node.trueExpr, roots, locals);
      checkNode(node.falseExpr, roots, locals);
      return;
    case 'SliceExpression':
      checkNode(node.start, roots, locals);
      checkNode(node.stop, roots, locals);
      checkNode(node.step, roots, locals);
      return;
    case 'If':
      checkNode(node.test, roots, locals);
      checkNodes(node.body ?? [], roots, locals);
      checkNodes(node.alternate ?? [], roots, locals);
      return;
    case 'For': {
      checkNode(node.iterable, roots, locals);
      const inner = new Set(locals);
      inner.add('loop');
      for (const name of loopNames(node.loopvar as Node)) inner.add(name);
      checkNodes(node.body ?? [], roots, inner);
      checkNodes(node.defaultBlock ?? [], roots, locals);
      return;
    }
    case 'Set':
      if (node.assignee?.type !== 'Identifier' || node.value === null || node.value === undefined)
        throw new TemplateSyntaxError('only {% set name = expression %} is supported');
      checkNode(node.value as Node, roots, locals);
      locals.add(node.assignee.value as string);
      return;
    default:
      if (!STATEMENTS.has(node.type)) throw new TemplateSyntaxError(`${node.type} is not supported in playbook templates`);
  }
}

function loopNames(loopvar: Node): string[] {
  if (loopvar.type === 'Identifier') return [loopvar.value as string];
  if (loopvar.type === 'TupleLiteral') return (loopvar.value as Node[]).map((n) => n.value as string);
  throw new TemplateSyntaxError('for loops bind a name or a tuple of names');
}

class LoopControl {
  readonly kind: 'break' | 'continue';
  constructor(kind: 'break' | 'continue') {
    this.kind = kind;
  }
}

class Evaluation {
  output = '';
  readonly #root: Readonly<Record<string, DataValue>>;
  readonly #locals: Array<Map<string, DataValue>> = [];
  #budget = EVALUATION_BUDGET;

  constructor(root: Readonly<Record<string, DataValue>>) {
    this.#root = root;
  }

  spend(): void {
    if (--this.#budget < 0) throw new ExpressionError(`template did more than ${EVALUATION_BUDGET} steps of work; simplify it`);
  }

  #lookup(name: string): DataValue {
    for (let i = this.#locals.length - 1; i >= 0; i--) {
      const scope = this.#locals[i] as Map<string, DataValue>;
      if (scope.has(name)) return scope.get(name);
    }
    switch (name) {
      case 'true':
      case 'True':
        return true;
      case 'false':
      case 'False':
        return false;
      case 'none':
      case 'None':
        return null;
    }
    return memberOf(this.#root, name);
  }

  #emit(text: string): void {
    this.output += text;
    if (this.output.length > OUTPUT_LIMIT) throw new ExpressionError(`template rendered more than ${OUTPUT_LIMIT} characters`);
  }

  block(nodes: Node[]): void {
    for (const node of nodes) {
      this.spend();
      switch (node.type) {
        case 'If':
          this.block(isTruthy(this.expression(node.test as Node)) ? (node.body ?? []) : (node.alternate ?? []));
          break;
        case 'For':
          this.#for(node);
          break;
        case 'Set': {
          const scope = this.#locals.at(-1) ?? new Map<string, DataValue>();
          if (this.#locals.length === 0) this.#locals.push(scope);
          scope.set(node.assignee?.value as string, this.expression(node.value as Node));
          break;
        }
        case 'Break':
          throw new LoopControl('break');
        case 'Continue':
          throw new LoopControl('continue');
        case 'Comment':
          break;
        default:
          this.#emit(toText(this.expression(node)));
      }
    }
  }

  #for(node: Node): void {
    const iterable = this.expression(node.iterable as Node);
    const items: DataValue[] = Array.isArray(iterable)
      ? iterable
      : isPlainObject(iterable)
        ? Object.keys(iterable)
        : typeof iterable === 'string'
          ? Array.from(iterable)
          : iterable === undefined || iterable === null
            ? []
            : (() => {
                throw new ExpressionError(`cannot loop over ${typeName(iterable)}`);
              })();
    if (items.length === 0) {
      this.block(node.defaultBlock ?? []);
      return;
    }
    const names = loopNames(node.loopvar as Node);
    const scope = new Map<string, DataValue>();
    this.#locals.push(scope);
    try {
      for (let i = 0; i < items.length; i++) {
        this.spend();
        const item = items[i];
        if (names.length === 1) scope.set(names[0] as string, item);
        else for (const [k, name] of names.entries()) scope.set(name, memberOf(item, k));
        scope.set('loop', { index: i + 1, index0: i, first: i === 0, last: i === items.length - 1, length: items.length });
        try {
          this.block(node.body ?? []);
        } catch (control) {
          if (!(control instanceof LoopControl)) throw control;
          if (control.kind === 'break') break;
        }
      }
    } finally {
      this.#locals.pop();
    }
  }

  expression(node: Node): DataValue {
    this.spend();
    switch (node.type) {
      case 'StringLiteral':
      case 'IntegerLiteral':
      case 'FloatLiteral':
        return node.value as DataValue;
      case 'Identifier':
        return this.#lookup(node.value as string);
      case 'ArrayLiteral':
      case 'TupleLiteral':
        return (node.value as Node[]).map((item) => this.expression(item));
      case 'ObjectLiteral': {
        const out: Record<string, DataValue> = {};
        for (const [key, value] of node.value as Map<Node, Node>) {
          const name = this.expression(key);
          if (typeof name !== 'string' && typeof name !== 'number') throw new ExpressionError('object keys must be strings');
          // defineProperty: a key named __proto__ stays an ordinary own property.
          Object.defineProperty(out, String(name), { value: this.expression(value), enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      case 'MemberExpression': {
        const object = this.expression(node.object as Node);
        const property = node.property as Node;
        if (node.computed && property.type === 'SliceExpression') return this.#slice(object, property);
        const key = node.computed ? this.expression(property) : (property.value as DataValue);
        return memberOf(object, key);
      }
      case 'CallExpression':
        return this.#call(node);
      case 'BinaryExpression':
        return this.#binary(node);
      case 'UnaryExpression': {
        const value = this.expression(node.argument as Node);
        switch (node.operator?.value) {
          case 'not':
          case '!':
            return !isTruthy(value);
          case '-':
            return -numeric(value, '-');
          case '+':
            return numeric(value, '+');
        }
        throw new ExpressionError(`unsupported operator ${node.operator?.value}`);
      }
      case 'FilterExpression': {
        const value = this.expression(node.operand as Node);
        const filterNode = node.filter as Node;
        const name = (filterNode.type === 'CallExpression' ? filterNode.callee?.value : filterNode.value) as string;
        const filter = FILTERS.get(name);
        if (filter === undefined) throw new ExpressionError(`unknown filter "${name}"`);
        const [args, kwargs] = this.#arguments(filterNode.type === 'CallExpression' ? (filterNode.args ?? []) : []);
        return toData(filter(value, args, kwargs));
      }
      case 'TestExpression': {
        const test = TESTS.get(node.test?.value as string);
        if (test === undefined) throw new ExpressionError(`unknown test "${node.test?.value}"`);
        const result = test(this.expression(node.operand as Node), []);
        return node.negate ? !result : result;
      }
      case 'Ternary':
        return isTruthy(this.expression(node.condition as Node)) ? this.expression(node.trueExpr as Node) : this.expression(node.falseExpr as Node);
    }
    throw new ExpressionError(`${node.type} is not supported in playbook templates`);
  }

  #arguments(nodes: Node[]): [DataValue[], Record<string, DataValue>] {
    const args: DataValue[] = [];
    const kwargs: Record<string, DataValue> = Object.create(null);
    for (const node of nodes) {
      if (node.type === 'KeywordArgumentExpression') kwargs[node.key?.value as string] = this.expression(node.value as Node);
      else args.push(this.expression(node));
    }
    return [args, kwargs];
  }

  #slice(object: DataValue, node: Node): DataValue {
    const bound = (n: Node | undefined) => (n === undefined ? undefined : this.expression(n));
    const start = bound(node.start);
    const stop = bound(node.stop);
    const step = bound(node.step) ?? 1;
    if (typeof step !== 'number' || step === 0) throw new ExpressionError('slice step must be a non-zero number');
    const items = typeof object === 'string' ? Array.from(object) : Array.isArray(object) ? object : undefined;
    if (items === undefined) throw new ExpressionError(`cannot slice ${typeName(object)}`);
    const n = items.length;
    const clamp = (v: DataValue, fallback: number) => {
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'number') throw new ExpressionError('slice bounds must be numbers');
      return v < 0 ? Math.max(n + v, step < 0 ? -1 : 0) : Math.min(v, step < 0 ? n - 1 : n);
    };
    const out: DataValue[] = [];
    if (step > 0) for (let i = clamp(start, 0); i < clamp(stop, n); i += step) out.push(items[i]);
    else for (let i = clamp(start, n - 1); i > clamp(stop, -1); i += step) out.push(items[i]);
    return typeof object === 'string' ? out.join('') : out;
  }

  #call(node: Node): DataValue {
    const callee = node.callee as Node;
    const [args, kwargs] = this.#arguments(node.args ?? []);
    if (callee.type === 'Identifier') {
      if (callee.value === 'range') {
        const [a, b, c] = args.map((v) => numeric(v, 'range'));
        const [start, stop, step] = b === undefined ? [0, a ?? 0, 1] : [a ?? 0, b, c ?? 1];
        if (step === 0) throw new ExpressionError('range step must not be 0');
        const count = Math.max(0, Math.ceil((stop - start) / step));
        if (count > 100_000) throw new ExpressionError('range is longer than 100000');
        return Array.from({ length: count }, (_, i) => start + i * step);
      }
      if (callee.value === 'dict') return { ...kwargs };
      throw new ExpressionError(`unknown function ${callee.value}()`);
    }
    const target = this.expression(callee.object as Node);
    const method = callee.property?.value as string;
    if (typeof target === 'string' && METHODS.string?.has(method)) return stringMethod(target, method, args);
    if (isPlainObject(target) && METHODS.mapping?.has(method)) {
      switch (method) {
        case 'items':
          return Object.keys(target).map((k) => [k, memberOf(target, k)] as DataValue);
        case 'keys':
          return Object.keys(target);
        case 'values':
          return Object.keys(target).map((k) => memberOf(target, k));
        case 'get': {
          const value = memberOf(target, args[0]);
          return value === undefined ? (args[1] ?? null) : value;
        }
      }
    }
    throw new ExpressionError(`${typeName(target)} has no method .${method}()`);
  }

  #binary(node: Node): DataValue {
    const op = node.operator?.value;
    if (op === 'and') {
      const left = this.expression(node.left as Node);
      return isTruthy(left) ? this.expression(node.right as Node) : left;
    }
    if (op === 'or') {
      const left = this.expression(node.left as Node);
      return isTruthy(left) ? left : this.expression(node.right as Node);
    }
    const left = this.expression(node.left as Node);
    const right = this.expression(node.right as Node);
    switch (op) {
      case '==':
        return deepEqual(left, right);
      case '!=':
        return !deepEqual(left, right);
      case '<':
        return compareValues(left, right) < 0;
      case '>':
        return compareValues(left, right) > 0;
      case '<=':
        return compareValues(left, right) <= 0;
      case '>=':
        return compareValues(left, right) >= 0;
      case 'in':
        return contains(right, left);
      case 'not in':
        return !contains(right, left);
      case '~':
        return capText(toText(left) + toText(right));
      case '+':
        if (typeof left === 'number' && typeof right === 'number') return left + right;
        if (typeof left === 'string' && typeof right === 'string') return capText(left + right);
        if (Array.isArray(left) && Array.isArray(right)) return capList([...left, ...right]);
        throw new ExpressionError(`cannot add ${typeName(left)} and ${typeName(right)}`);
      case '-':
        return numeric(left, op) - numeric(right, op);
      case '*':
        if (typeof left === 'string' && typeof right === 'number') {
          if (left.length * right > OUTPUT_LIMIT) throw new ExpressionError(`string repetition longer than ${OUTPUT_LIMIT}`);
          return left.repeat(Math.max(0, right));
        }
        return numeric(left, op) * numeric(right, op);
      case '/':
        return numeric(left, op) / nonZero(numeric(right, op));
      case '//':
        return Math.floor(numeric(left, op) / nonZero(numeric(right, op)));
      case '%':
        return numeric(left, op) % nonZero(numeric(right, op));
      case '**':
        return numeric(left, op) ** numeric(right, op);
    }
    throw new ExpressionError(`unsupported operator ${op}`);
  }
}

function numeric(value: DataValue, op: string): number {
  if (typeof value !== 'number') throw new ExpressionError(`operator ${op} needs numbers, got ${typeName(value)}`);
  return value;
}

function nonZero(value: number): number {
  if (value === 0) throw new ExpressionError('division by zero');
  return value;
}

function capText(text: string): string {
  if (text.length > OUTPUT_LIMIT) throw new ExpressionError(`string longer than ${OUTPUT_LIMIT} characters`);
  return text;
}

function capList(items: DataValue[]): DataValue[] {
  if (items.length > 100_000) throw new ExpressionError('list longer than 100000 items');
  return items;
}

function stringMethod(text: string, method: string, args: DataValue[]): DataValue {
  const [a, b] = args;
  switch (method) {
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
    case 'strip':
      return text.trim();
    case 'lstrip':
      return text.trimStart();
    case 'rstrip':
      return text.trimEnd();
    case 'startswith':
      return text.startsWith(toText(a));
    case 'endswith':
      return text.endsWith(toText(a));
    case 'split':
      return capList(a === undefined || a === null ? text.trim().split(/\s+/) : text.split(toText(a)));
    case 'replace':
      return capText(text.split(toText(a)).join(toText(b)));
    case 'title':
      return text.replace(/\b\w/g, (c) => c.toUpperCase());
    case 'capitalize':
      return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
  }
  throw new ExpressionError(`string has no method .${method}()`);
}

/**
 * Evaluates every string inside a value (the `with:` of a step, a `set:` map …) as a template, leaving
 * other values as they are. Strings produced by evaluation are never evaluated again.
 */
export function evaluateDeep(value: unknown, context: Readonly<Record<string, DataValue>>): DataValue {
  if (typeof value === 'string') return compileTemplate(value).evaluate(context);
  if (Array.isArray(value)) return value.map((item) => evaluateDeep(item, context) ?? null);
  if (isPlainObject(value)) {
    const out: Record<string, DataValue> = {};
    for (const key of Object.keys(value)) {
      const evaluated = evaluateDeep(value[key], context);
      if (evaluated !== undefined) Object.defineProperty(out, key, { value: evaluated, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return toData(value);
}

/** Compiles every template string inside a value; returns the syntax errors with their JSON paths. */
export function checkTemplatesDeep(value: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; message: string }> {
  if (typeof value === 'string') {
    try {
      compileTemplate(value);
      return [];
    } catch (error) {
      return [{ path, message: (error as Error).message }];
    }
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => checkTemplatesDeep(item, [...path, i]));
  if (isPlainObject(value)) return Object.keys(value).flatMap((key) => checkTemplatesDeep(value[key], [...path, key]));
  return [];
}
