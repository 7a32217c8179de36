/**
 * The only values expressions ever see or produce: JSON-like data (null, booleans, numbers, strings,
 * arrays, plain objects) plus `undefined` for "missing". Member access goes through `memberOf`, which
 * reads own data properties of plain objects and arrays only — never prototypes, getters or functions —
 * so a template cannot walk from data to `constructor`, `__proto__` or any host object.
 */
export type DataValue = null | boolean | number | string | DataValue[] | { [key: string]: DataValue } | undefined;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads `object[key]` the safe way: own, enumerable data properties of data values only. */
export function memberOf(object: unknown, key: unknown): DataValue {
  if (Array.isArray(object)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return undefined;
    const index = key < 0 ? object.length + key : key;
    return index >= 0 && index < object.length ? toData(object[index]) : undefined;
  }
  if (typeof object === 'string') {
    if (typeof key !== 'number' || !Number.isInteger(key)) return undefined;
    const char = object.at(key);
    return char;
  }
  if (!isPlainObject(object)) return undefined;
  const name = typeof key === 'number' ? String(key) : key;
  if (typeof name !== 'string') return undefined;
  const descriptor = Object.getOwnPropertyDescriptor(object, name);
  if (descriptor === undefined || !descriptor.enumerable || !('value' in descriptor)) return undefined;
  return toData(descriptor.value);
}

/** Anything that is not data (functions, class instances, symbols, bigints) reads as undefined. */
export function toData(value: unknown): DataValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value) || isPlainObject(value)) return value as DataValue;
      if (value instanceof Date) return value.toISOString();
      return undefined;
    default:
      return undefined;
  }
}

/** Deep copy into fresh plain data: used on results of libraries (JMESPath) that may hand back host objects. */
export function toPlainData(value: unknown, depth = 0): DataValue {
  if (depth > 64) return null;
  const data = toData(value);
  if (Array.isArray(data)) return data.map((item) => toPlainData(item, depth + 1) ?? null);
  if (data !== null && typeof data === 'object') {
    const out: Record<string, DataValue> = {};
    for (const key of Object.keys(data)) {
      const item = memberOf(data, key);
      if (item !== undefined) out[key] = toPlainData(item, depth + 1);
    }
    return out;
  }
  return data;
}

export function isTruthy(value: DataValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Jinja's string conversion: none → "None"-free empty for undefined, JSON for containers. */
export function toText(value: DataValue): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

export function typeName(value: DataValue): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'none';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  return typeof value;
}

export function deepEqual(a: DataValue, b: DataValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(memberOf(a, k), memberOf(b, k)));
}

export function compareValues(a: DataValue, b: DataValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1;
  if (b === undefined || b === null) return 1;
  throw new ExpressionError(`cannot compare ${typeName(a)} with ${typeName(b)}`);
}

/** A failure while evaluating (not parsing) an expression: wrong types, bad filter arguments, caps hit. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}
