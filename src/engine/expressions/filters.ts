import {
  b64decode,
  b64encode,
  dateAdd,
  dateDiffMs,
  dateSub,
  defang,
  domainOf,
  hashOf,
  ipInCidr,
  isPrivateIp,
  jsonQuery,
  refang,
  regexFindall,
  regexReplace,
  regexSearch,
  registeredDomain,
  toEpochMs,
  toIso,
} from './security-filters.ts';
import { compareValues, type DataValue, deepEqual, ExpressionError, isPlainObject, isTruthy, memberOf, toData, toText, typeName } from './values.ts';

/**
 * The filters and tests templates may use — a closed list: a name not here is a validation error, so a
 * playbook cannot call anything else. Filters receive the piped value, positional and keyword arguments.
 */
export type Filter = (value: DataValue, args: DataValue[], kwargs: Record<string, DataValue>) => DataValue;
export type Test = (value: DataValue, args: DataValue[]) => boolean;

/** Largest list or string a filter may build; keeps `range(10**9)`-style templates from eating memory. */
export const COLLECTION_LIMIT = 100_000;

function list(value: DataValue, filter: string): DataValue[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return Array.from(value);
  if (isPlainObject(value)) return Object.keys(value);
  if (value === undefined || value === null) return [];
  throw new ExpressionError(`${filter}: expected a list, got ${typeName(value)}`);
}

function attribute(item: DataValue, path: DataValue): DataValue {
  let node = item;
  for (const part of toText(path).split('.')) node = memberOf(node, /^-?\d+$/.test(part) && Array.isArray(node) ? Number(part) : part);
  return node;
}

function number(value: DataValue, filter: string): number {
  const n = typeof value === 'number' ? value : Number(toText(value));
  if (!Number.isFinite(n)) throw new ExpressionError(`${filter}: ${JSON.stringify(value)} is not a number`);
  return n;
}

function testFor(name: DataValue): Test {
  const test = TESTS.get(toText(name));
  if (test === undefined) throw new ExpressionError(`unknown test ${JSON.stringify(name)}`);
  return test;
}

function select(value: DataValue, args: DataValue[], byAttribute: boolean, keep: boolean, filter: string): DataValue[] {
  const [first, testName, ...rest] = args;
  return list(value, filter).filter((item) => {
    const subject = byAttribute ? attribute(item, first) : item;
    const name = byAttribute ? testName : first;
    const testArgs = byAttribute ? rest : args.slice(1);
    const passed = name === undefined ? isTruthy(subject) : testFor(name)(subject, testArgs);
    return passed === keep;
  });
}

function capped<T extends string | DataValue[]>(value: T, filter: string): T {
  if (value.length > COLLECTION_LIMIT) throw new ExpressionError(`${filter}: result is longer than ${COLLECTION_LIMIT}`);
  return value;
}

export const FILTERS: ReadonlyMap<string, Filter> = new Map<string, Filter>([
  ['default', (v, [fallback, boolean]) => (v === undefined || (boolean === true && !isTruthy(v)) ? fallback : v)],
  ['d', (v, [fallback, boolean]) => (v === undefined || (boolean === true && !isTruthy(v)) ? fallback : v)],
  ['length', (v) => (isPlainObject(v) ? Object.keys(v).length : list(v, 'length').length)],
  ['count', (v) => (isPlainObject(v) ? Object.keys(v).length : list(v, 'count').length)],
  ['lower', (v) => toText(v).toLowerCase()],
  ['upper', (v) => toText(v).toUpperCase()],
  ['title', (v) => toText(v).replace(/\b\w/g, (c) => c.toUpperCase())],
  ['capitalize', (v) => toText(v).charAt(0).toUpperCase() + toText(v).slice(1).toLowerCase()],
  ['trim', (v) => toText(v).trim()],
  ['string', (v) => toText(v)],
  ['int', (v, [fallback]) => (Number.isFinite(Number.parseInt(toText(v), 10)) ? Number.parseInt(toText(v), 10) : (fallback ?? 0))],
  ['float', (v, [fallback]) => (Number.isFinite(Number.parseFloat(toText(v))) ? Number.parseFloat(toText(v)) : (fallback ?? 0))],
  ['bool', (v) => (typeof v === 'string' ? ['true', 'yes', 'on', '1'].includes(v.toLowerCase()) : isTruthy(v))],
  ['abs', (v) => Math.abs(number(v, 'abs'))],
  [
    'round',
    (v, [precision]) => {
      const factor = 10 ** (typeof precision === 'number' ? precision : 0);
      return Math.round(number(v, 'round') * factor) / factor;
    },
  ],
  ['replace', (v, [from, to]) => toText(v).split(toText(from)).join(toText(to))],
  ['split', (v, [separator]) => capped(toText(v).split(separator === undefined ? /\s+/ : toText(separator)), 'split')],
  [
    'join',
    (v, [separator]) =>
      capped(
        list(v, 'join')
          .map(toText)
          .join(toText(separator ?? '')),
        'join',
      ),
  ],
  ['first', (v) => list(v, 'first')[0]],
  ['last', (v) => list(v, 'last').at(-1)],
  ['list', (v) => list(v, 'list')],
  ['reverse', (v) => (typeof v === 'string' ? Array.from(v).reverse().join('') : [...list(v, 'reverse')].reverse())],
  [
    'sort',
    (v, _args, kwargs) => {
      const key = kwargs.attribute;
      const sorted = [...list(v, 'sort')].sort((a, b) => (key === undefined ? compareValues(a, b) : compareValues(attribute(a, key), attribute(b, key))));
      return kwargs.reverse === true ? sorted.reverse() : sorted;
    },
  ],
  [
    'unique',
    (v) => {
      const out: DataValue[] = [];
      for (const item of list(v, 'unique')) if (!out.some((seen) => deepEqual(seen, item))) out.push(item);
      return out;
    },
  ],
  ['min', (v) => list(v, 'min').reduce<DataValue>((a, b) => (a === undefined || compareValues(b, a) < 0 ? b : a), undefined)],
  ['max', (v) => list(v, 'max').reduce<DataValue>((a, b) => (a === undefined || compareValues(b, a) > 0 ? b : a), undefined)],
  [
    'sum',
    (v, _args, kwargs) => list(v, 'sum').reduce<number>((a, b) => a + number(kwargs.attribute === undefined ? b : attribute(b, kwargs.attribute), 'sum'), 0),
  ],
  [
    'map',
    (v, args, kwargs) => {
      if (kwargs.attribute !== undefined) return list(v, 'map').map((item) => attribute(item, kwargs.attribute) ?? kwargs.default);
      const [name, ...rest] = args;
      const filter = FILTERS.get(toText(name));
      if (filter === undefined) throw new ExpressionError(`map: unknown filter ${JSON.stringify(name)}`);
      return list(v, 'map').map((item) => filter(item, rest, {}));
    },
  ],
  ['select', (v, args) => select(v, args, false, true, 'select')],
  ['reject', (v, args) => select(v, args, false, false, 'reject')],
  ['selectattr', (v, args) => select(v, args, true, true, 'selectattr')],
  ['rejectattr', (v, args) => select(v, args, true, false, 'rejectattr')],
  [
    'items',
    (v) => {
      if (!isPlainObject(v)) throw new ExpressionError(`items: expected a mapping, got ${typeName(v)}`);
      return Object.keys(v).map((k) => [k, memberOf(v, k)] as DataValue);
    },
  ],
  ['dict2items', (v) => (isPlainObject(v) ? Object.keys(v).map((k) => ({ key: k, value: memberOf(v, k) ?? null })) : [])],
  [
    'items2dict',
    (v) => {
      const out: Record<string, DataValue> = {};
      for (const item of list(v, 'items2dict')) out[toText(attribute(item, 'key'))] = attribute(item, 'value');
      return out;
    },
  ],
  ['tojson', (v) => JSON.stringify(v ?? null)],
  ['to_json', (v) => JSON.stringify(v ?? null)],
  [
    'from_json',
    (v) => {
      try {
        return toData(JSON.parse(toText(v)));
      } catch (error) {
        throw new ExpressionError(`from_json: ${(error as Error).message}`);
      }
    },
  ],
  ['urlencode', (v) => encodeURIComponent(toText(v))],
  ['truncate', (v, [length]) => toText(v).slice(0, typeof length === 'number' ? length : 255)],
  ['defang', (v) => defang(v)],
  ['refang', (v) => refang(v)],
  ['ip_in_cidr', (v, [cidrs]) => ipInCidr(v, cidrs)],
  ['is_private_ip', (v) => isPrivateIp(v)],
  ['domain', (v) => domainOf(v)],
  ['registered_domain', (v) => registeredDomain(v)],
  ['b64encode', (v) => b64encode(v)],
  ['b64decode', (v) => b64decode(v)],
  ['sha256', (v) => hashOf('sha256', v)],
  ['sha1', (v) => hashOf('sha1', v)],
  ['md5', (v) => hashOf('md5', v)],
  ['json_query', (v, [query]) => jsonQuery(v, query)],
  ['regex_search', (v, [pattern], kwargs) => regexSearch(v, pattern, kwargs)],
  ['regex_findall', (v, [pattern], kwargs) => regexFindall(v, pattern, kwargs)],
  ['regex_replace', (v, [pattern, replacement], kwargs) => regexReplace(v, pattern, replacement, kwargs)],
  ['date_add', (v, [duration]) => dateAdd(v, duration)],
  ['date_sub', (v, [duration]) => dateSub(v, duration)],
  ['date_diff', (v, [other]) => dateDiffMs(v, other)],
  ['to_epoch_ms', (v) => toEpochMs(v)],
  ['to_iso', (v) => toIso(v)],
]);

export const TESTS: ReadonlyMap<string, Test> = new Map<string, Test>([
  ['defined', (v) => v !== undefined],
  ['undefined', (v) => v === undefined],
  ['none', (v) => v === null],
  ['string', (v) => typeof v === 'string'],
  ['number', (v) => typeof v === 'number'],
  ['integer', (v) => typeof v === 'number' && Number.isInteger(v)],
  ['float', (v) => typeof v === 'number' && !Number.isInteger(v)],
  ['boolean', (v) => typeof v === 'boolean'],
  ['true', (v) => v === true],
  ['false', (v) => v === false],
  ['mapping', (v) => isPlainObject(v)],
  ['sequence', (v) => Array.isArray(v) || typeof v === 'string'],
  ['iterable', (v) => Array.isArray(v) || typeof v === 'string' || isPlainObject(v)],
  ['odd', (v) => typeof v === 'number' && Math.abs(v % 2) === 1],
  ['even', (v) => typeof v === 'number' && v % 2 === 0],
  ['divisibleby', (v, [n]) => typeof v === 'number' && typeof n === 'number' && n !== 0 && v % n === 0],
  ['eq', (v, [other]) => deepEqual(v, other)],
  ['equalto', (v, [other]) => deepEqual(v, other)],
  ['==', (v, [other]) => deepEqual(v, other)],
  ['ne', (v, [other]) => !deepEqual(v, other)],
  ['!=', (v, [other]) => !deepEqual(v, other)],
  ['gt', (v, [other]) => compareValues(v, other) > 0],
  ['ge', (v, [other]) => compareValues(v, other) >= 0],
  ['lt', (v, [other]) => compareValues(v, other) < 0],
  ['le', (v, [other]) => compareValues(v, other) <= 0],
  ['in', (v, [container]) => contains(container, v)],
  ['match', (v, [pattern]) => regexSearch(v, pattern, {}) !== null],
  ['search', (v, [pattern]) => regexSearch(v, pattern, {}) !== null],
  ['private_ip', (v) => isPrivateIp(v)],
  ['ip_in_cidr', (v, [cidrs]) => ipInCidr(v, cidrs)],
]);

export function contains(container: DataValue, item: DataValue): boolean {
  if (typeof container === 'string') return container.includes(toText(item));
  if (Array.isArray(container)) return container.some((entry) => deepEqual(entry, item));
  if (isPlainObject(container)) return typeof item === 'string' && Object.hasOwn(container, item);
  return false;
}
