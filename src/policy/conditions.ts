import { CidrSet, DomainSet, hostOf, type IpAddress, parseCidr, parseIpAddress } from '../core/index.ts';

/**
 * The rule condition language: data, not code. A condition is one of
 *
 *   { all: [c…] }  { any: [c…] }  { not: c }            combinators
 *   { any_target: c }  { all_targets: c }               quantifiers over the action's targets (bind `target.*`)
 *   { field: path, <operator>: value }                  a comparison
 *
 * Operators: eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, ends_with, exists,
 * in_cidr, not_in_cidr, in_domain, not_in_domain. A value may be `{ param: name }` to use one of the
 * policy's params. A missing field fails every comparison except `exists: false` — so a rule that
 * needs a fact the caller did not supply does not fire, and the safe `no_match` outcome applies.
 * `all_targets` over an action without targets is false (no vacuous truth for "allow" rules).
 * Conditions are compiled once into closures; evaluation allocates nothing per comparison.
 */
export type FieldType = 'string' | 'number' | 'boolean' | 'strings' | 'any';

/** Every field a condition may name; `target.*` only inside a target quantifier. */
export const FIELD_CATALOG: Record<string, { type: FieldType; doc: string }> = {
  'action.id': { type: 'string', doc: 'qualified action id, e.g. firewall.block_ip' },
  'action.impact': { type: 'string', doc: 'read | write | destructive' },
  'action.kind': { type: 'string', doc: 'blast-radius group of the action (defaults to its id)' },
  'action.rollback': { type: 'boolean', doc: 'true when the action undoes an earlier containment action (rollback or expiry)' },
  'indicator.confidence': { type: 'number', doc: 'indicator confidence 0–100' },
  'indicator.verdict': { type: 'string', doc: 'malicious | suspicious | benign | unknown' },
  'indicator.source': { type: 'string', doc: 'where the confidence came from' },
  'targets.count': { type: 'number', doc: 'number of targets of the action' },
  'history.same_kind_last_hour': { type: 'number', doc: 'earlier actions of the same kind in the last hour' },
  'history.total_last_hour': { type: 'number', doc: 'earlier actions of any kind in the last hour' },
  'requester.id': { type: 'string', doc: 'who asks for the action' },
  'requester.kind': { type: 'string', doc: 'user | playbook | system | service' },
  'requester.roles': { type: 'strings', doc: 'roles of the requester' },
  'initiator.id': { type: 'string', doc: 'who started the run' },
  'initiator.kind': { type: 'string', doc: 'user | playbook | system | service' },
  'run.playbook_id': { type: 'string', doc: 'playbook of the run' },
  'target.type': { type: 'string', doc: 'ipv4, ipv6, domain, url, email, host, user…' },
  'target.value': { type: 'string', doc: 'the exact value acted on' },
  'target.host': { type: 'string', doc: 'host part of a URL or e-mail target, else the value' },
  'target.asset.id': { type: 'string', doc: 'CMDB id' },
  'target.asset.name': { type: 'string', doc: 'CMDB name' },
  'target.asset.criticality': { type: 'string', doc: 'critical | high | medium | low' },
  'target.asset.owner': { type: 'string', doc: 'CMDB owner' },
  'target.asset.environment': { type: 'string', doc: 'CMDB environment' },
  'target.allow_listed': { type: 'boolean', doc: 'on any allow-list (CIDR, domain, partner or warning list)' },
  'target.allow_list.kind': { type: 'string', doc: 'cidr | domain | partner | warning_list' },
  'target.allow_list.name': { type: 'string', doc: 'the list or partner name' },
  'target.allow_list.entry': { type: 'string', doc: 'the entry that matched (range or domain)' },
};

/** Prefixes under which any sub-path is accepted (free-form data). */
const OPEN_PREFIXES = ['action.arguments.', 'history.last_hour.', 'params.'];

export const OPERATORS = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'ends_with',
  'exists',
  'in_cidr',
  'not_in_cidr',
  'in_domain',
  'not_in_domain',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Facts for one target, computed once per evaluation. */
export interface TargetFacts {
  type: string;
  value: string;
  host: string;
  /** The host parsed as an address (not a field conditions can name; a shortcut for the CIDR operators). */
  ip: IpAddress | undefined;
  asset?: { id?: string; name?: string; criticality: string; owner?: string; environment?: string };
  allow_listed: boolean;
  allow_list?: { kind: string; name: string; entry: string };
}

export interface EvaluationContext {
  facts: Record<string, unknown>;
  targets: TargetFacts[];
  /** The target a quantifier is looking at. */
  target: TargetFacts | undefined;
  /** The first target that satisfied an `any_target`, for reason texts. */
  bound: TargetFacts | undefined;
}

export type CompiledCondition = (ctx: EvaluationContext) => boolean;

export interface ConditionIssue {
  path: Array<string | number>;
  message: string;
  hint?: string;
}

export interface CompileOptions {
  params: Record<string, unknown>;
}

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function isKnownField(field: string): boolean {
  return field in FIELD_CATALOG || OPEN_PREFIXES.some((prefix) => field.startsWith(prefix) && field.length > prefix.length);
}

function closestField(field: string): string | undefined {
  const known = Object.keys(FIELD_CATALOG);
  const last = field.split('.').at(-1) ?? field;
  return known.find((k) => k.endsWith(`.${last}`)) ?? known.find((k) => k.startsWith(field.split('.')[0] ?? ''));
}

/** Reads a dotted path; `target.*` comes from the quantified target, everything else from the facts. */
export function fieldReader(field: string): (ctx: EvaluationContext) => unknown {
  const parts = field.split('.');
  if (parts[0] === 'target') {
    const rest = parts.slice(1);
    return (ctx) => {
      let node: unknown = ctx.target ?? ctx.bound;
      for (const key of rest) {
        if (node === null || typeof node !== 'object') return undefined;
        node = (node as Record<string, unknown>)[key];
      }
      return node;
    };
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    return (ctx) => {
      const node = ctx.facts[a];
      return node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[b] : undefined;
    };
  }
  return (ctx) => {
    let node: unknown = ctx.facts;
    for (const key of parts) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Parses and compiles a condition. Problems are pushed to `issues` with their path (relative to `path`);
 * the returned closure is only meaningful when no issue was added.
 */
export function compileCondition(
  raw: unknown,
  path: Array<string | number>,
  issues: ConditionIssue[],
  options: CompileOptions,
  inTarget = false,
): CompiledCondition {
  const never: CompiledCondition = () => false;
  if (!isPlainObject(raw)) {
    issues.push({ path, message: `a condition must be a mapping such as { field: indicator.confidence, gte: 85 }; got ${describeValue(raw)}` });
    return never;
  }
  const keys = Object.keys(raw);
  const combinator = keys.find((k) => ['all', 'any', 'not', 'any_target', 'all_targets'].includes(k));
  if (combinator !== undefined) {
    if (keys.length !== 1) {
      issues.push({
        path,
        message: `"${combinator}" must be the only key of its condition; found ${keys.join(', ')}`,
        hint: 'wrap several conditions in all: [...]',
      });
      return never;
    }
    const body = raw[combinator];
    const here = [...path, combinator];
    if (combinator === 'all' || combinator === 'any') {
      if (!Array.isArray(body) || body.length === 0) {
        issues.push({ path: here, message: `"${combinator}" takes a non-empty list of conditions` });
        return never;
      }
      const parts = body.map((item, i) => compileCondition(item, [...here, i], issues, options, inTarget));
      if (combinator === 'all')
        return (ctx) => {
          for (const part of parts) if (!part(ctx)) return false;
          return true;
        };
      return (ctx) => {
        for (const part of parts) if (part(ctx)) return true;
        return false;
      };
    }
    if (combinator === 'not') {
      const inner = compileCondition(body, here, issues, options, inTarget);
      return (ctx) => !inner(ctx);
    }
    if (inTarget) {
      issues.push({ path: here, message: `"${combinator}" cannot be nested inside another target quantifier` });
      return never;
    }
    const inner = compileCondition(body, here, issues, options, true);
    if (combinator === 'any_target')
      return (ctx) => {
        for (const target of ctx.targets) {
          ctx.target = target;
          const hit = inner(ctx);
          ctx.target = undefined;
          if (hit) {
            ctx.bound ??= target;
            return true;
          }
        }
        return false;
      };
    return (ctx) => {
      if (ctx.targets.length === 0) return false;
      for (const target of ctx.targets) {
        ctx.target = target;
        const hit = inner(ctx);
        ctx.target = undefined;
        if (!hit) return false;
      }
      ctx.bound ??= ctx.targets[0];
      return true;
    };
  }

  if (!('field' in raw)) {
    issues.push({
      path,
      message: `unknown condition with keys ${keys.join(', ')}`,
      hint: 'use all, any, not, any_target, all_targets, or { field: ..., <operator>: value }',
    });
    return never;
  }
  const field = raw.field;
  if (typeof field !== 'string' || !isKnownField(field)) {
    const suggestion = typeof field === 'string' ? closestField(field) : undefined;
    issues.push({
      path: [...path, 'field'],
      message: `unknown field ${describeValue(field)}`,
      hint: suggestion ? `did you mean ${suggestion}? (fields are listed in docs/policy.md)` : 'fields are listed in docs/policy.md',
    });
    return never;
  }
  if (field.startsWith('target.') && !inTarget) {
    issues.push({
      path: [...path, 'field'],
      message: `${field} is only defined inside any_target or all_targets`,
      hint: `wrap it: { any_target: { field: ${field}, ... } }`,
    });
    return never;
  }
  const operatorKeys = keys.filter((k) => k !== 'field');
  if (operatorKeys.length !== 1 || !OPERATORS.includes(operatorKeys[0] as Operator)) {
    issues.push({
      path,
      message:
        operatorKeys.length === 1
          ? `unknown operator "${operatorKeys[0]}" for field ${field}`
          : `a comparison takes exactly one operator besides "field"; found ${operatorKeys.length === 0 ? 'none' : operatorKeys.join(', ')}`,
      hint: `operators: ${OPERATORS.join(', ')}`,
    });
    return never;
  }
  const operator = operatorKeys[0] as Operator;
  const operandPath = [...path, operator];
  let operand = raw[operator];
  if (isPlainObject(operand) && 'param' in operand) {
    const name = operand.param;
    if (typeof name !== 'string' || !Object.hasOwn(options.params, name)) {
      issues.push({
        path: operandPath,
        message: `unknown param ${describeValue(name)}`,
        hint: `declare it under params: (${Object.keys(options.params).join(', ') || 'none declared'})`,
      });
      return never;
    }
    operand = options.params[name];
  }
  const read = fieldReader(field);
  const fieldType = FIELD_CATALOG[field]?.type ?? 'any';
  return compileComparison(field, fieldType, operator, operand, read, operandPath, issues);
}

function compileComparison(
  field: string,
  fieldType: FieldType,
  operator: Operator,
  operand: unknown,
  read: (ctx: EvaluationContext) => unknown,
  path: Array<string | number>,
  issues: ConditionIssue[],
): CompiledCondition {
  const never: CompiledCondition = () => false;
  const fail = (message: string, hint?: string) => {
    issues.push({ path, message, hint });
    return never;
  };
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  switch (operator) {
    case 'eq':
    case 'ne': {
      if (!scalar(operand)) return fail(`${operator} takes a string, number or boolean; got ${describeValue(operand)}`);
      if (fieldType === 'number' && typeof operand !== 'number') return fail(`${field} is a number; compare it with a number, not ${describeValue(operand)}`);
      if (operator === 'eq') return (ctx) => read(ctx) === operand;
      return (ctx) => {
        const value = read(ctx);
        return value !== undefined && value !== operand;
      };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof operand !== 'number' || !Number.isFinite(operand)) return fail(`${operator} takes a number; got ${describeValue(operand)}`);
      if (fieldType !== 'number' && fieldType !== 'any')
        return fail(`${field} is not a number, so ${operator} cannot apply`, 'use eq, in or another text operator');
      const limit = operand;
      if (operator === 'gt')
        return (ctx) => {
          const v = read(ctx);
          return typeof v === 'number' && v > limit;
        };
      if (operator === 'gte')
        return (ctx) => {
          const v = read(ctx);
          return typeof v === 'number' && v >= limit;
        };
      if (operator === 'lt')
        return (ctx) => {
          const v = read(ctx);
          return typeof v === 'number' && v < limit;
        };
      return (ctx) => {
        const v = read(ctx);
        return typeof v === 'number' && v <= limit;
      };
    }
    case 'in':
    case 'not_in': {
      if (!Array.isArray(operand) || !operand.every(scalar)) return fail(`${operator} takes a list of strings or numbers; got ${describeValue(operand)}`);
      const set = new Set<unknown>(operand);
      const positive = operator === 'in';
      return (ctx) => {
        const value = read(ctx);
        if (value === undefined) return false;
        if (Array.isArray(value)) return positive ? value.some((v) => set.has(v)) : !value.some((v) => set.has(v));
        return set.has(value) === positive;
      };
    }
    case 'contains': {
      if (!scalar(operand)) return fail(`contains takes a string or number; got ${describeValue(operand)}`);
      return (ctx) => {
        const value = read(ctx);
        if (Array.isArray(value)) return value.includes(operand);
        return typeof value === 'string' && typeof operand === 'string' && value.includes(operand);
      };
    }
    case 'starts_with':
    case 'ends_with': {
      if (typeof operand !== 'string') return fail(`${operator} takes a string; got ${describeValue(operand)}`);
      const starts = operator === 'starts_with';
      return (ctx) => {
        const value = read(ctx);
        return typeof value === 'string' && (starts ? value.startsWith(operand) : value.endsWith(operand));
      };
    }
    case 'exists': {
      if (typeof operand !== 'boolean') return fail(`exists takes true or false; got ${describeValue(operand)}`);
      return (ctx) => {
        const value = read(ctx);
        return (value !== undefined && value !== null) === operand;
      };
    }
    case 'in_cidr':
    case 'not_in_cidr': {
      const list = Array.isArray(operand) ? operand : [operand];
      const bad = list.find((item) => typeof item !== 'string' || parseCidr(item) === undefined);
      if (bad !== undefined || list.length === 0)
        return fail(`${operator} takes CIDR ranges such as 10.0.0.0/8 or 2001:db8::/32; ${describeValue(bad)} is not one`);
      const set = new CidrSet(list as string[]);
      const positive = operator === 'in_cidr';
      // The target's own address is parsed once per evaluation; other fields are parsed here.
      const addressOf: (ctx: EvaluationContext) => IpAddress | undefined =
        field === 'target.value' || field === 'target.host'
          ? (ctx) => (ctx.target ?? ctx.bound)?.ip
          : (ctx) => {
              const value = read(ctx);
              return typeof value === 'string' ? (parseIpAddress(value) ?? parseIpAddress(hostOf(value))) : undefined;
            };
      return (ctx) => {
        // A value that is not an address (nor a URL with an address host) is neither inside nor outside.
        const ip = addressOf(ctx);
        if (ip === undefined) return false;
        return set.has(ip) === positive;
      };
    }
    case 'in_domain':
    case 'not_in_domain': {
      const list = Array.isArray(operand) ? operand : [operand];
      let set: DomainSet;
      try {
        if (list.length === 0 || list.some((d) => typeof d !== 'string')) throw new TypeError('empty');
        set = new DomainSet(list as string[]);
      } catch {
        return fail(`${operator} takes domain names such as example.com; got ${describeValue(operand)}`);
      }
      const positive = operator === 'in_domain';
      // An address is in no domain: skip the suffix walk for targets that are addresses.
      const hostFor: (ctx: EvaluationContext) => string | undefined =
        field === 'target.value' || field === 'target.host'
          ? (ctx) => {
              const target = ctx.target ?? ctx.bound;
              return target?.ip ? '' : target?.host;
            }
          : (ctx) => {
              const value = read(ctx);
              return typeof value === 'string' ? hostOf(value) : undefined;
            };
      return (ctx) => {
        const host = hostFor(ctx);
        if (host === undefined) return false;
        return set.has(host) === positive;
      };
    }
  }
}
