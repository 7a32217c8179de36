import { RiposteError } from '../../core/index.ts';
import { parseStixTimestamp } from './pattern-parser.ts';

/**
 * What a pattern is matched against: observations, each with its time span, how many times it was seen and
 * the cyber-observable objects it holds. Built from STIX 2.1 observed-data (`object_refs` resolved against
 * SCOs supplied alongside, loose or in bundles) and STIX 2.0 observed-data (embedded `objects` dict, whose
 * `_ref`s are keys of that dict).
 */

export type StixValue = null | boolean | number | string | StixValue[] | { [key: string]: StixValue };
export type StixRecord = { [key: string]: StixValue };

export interface Observation {
  /** The observed-data id, when it has one. */
  id: string | undefined;
  firstObserved: number;
  lastObserved: number;
  numberObserved: number;
  /** The observation's objects by type: the candidates for an object path's root. */
  objectsByType: Map<string, StixRecord[]>;
  /** Resolves a `_ref` value to the object it names (undefined when it names nothing known). */
  resolve(ref: string): StixRecord | undefined;
}

export interface ObservationOptions {
  /** Forces how observed-data is read; by default each one is read by its shape. */
  stixVersion?: '2.0' | '2.1';
}

function observationError(path: string, message: string): RiposteError {
  return new RiposteError('stix.observation_invalid', `${path}: ${message}`, { status: 400, details: { path } });
}

function isRecord(value: unknown): value is StixRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function byType(objects: StixRecord[]): Map<string, StixRecord[]> {
  const map = new Map<string, StixRecord[]>();
  for (const object of objects) {
    const type = object.type;
    if (typeof type !== 'string') continue;
    const list = map.get(type);
    if (list) list.push(object);
    else map.set(type, [object]);
  }
  return map;
}

function timestampOf(record: StixRecord, property: string, path: string): number {
  const value = record[property];
  const ms = typeof value === 'string' ? parseStixTimestamp(value) : undefined;
  if (ms === undefined) throw observationError(`${path}.${property}`, 'must be an RFC 3339 UTC timestamp');
  return ms;
}

/**
 * Turns a list of observed-data objects, bundles and SCOs into observations. Throws `stix.observation_invalid`
 * naming the JSON path of the first malformed observed-data.
 */
export function collectObservations(items: unknown[], options: ObservationOptions = {}, rootPath = 'observations'): Observation[] {
  const byId = new Map<string, StixRecord>();
  const observedData: Array<{ record: StixRecord; path: string }> = [];
  const visit = (item: unknown, path: string): void => {
    if (!isRecord(item)) throw observationError(path, 'must be a STIX object');
    if (item.type === 'bundle') {
      const objects = item.objects;
      if (objects === undefined) return;
      if (!Array.isArray(objects)) throw observationError(`${path}.objects`, 'must be a list');
      for (let i = 0; i < objects.length; i++) visit(objects[i], `${path}.objects[${i}]`);
      return;
    }
    if (typeof item.id === 'string') byId.set(item.id, item);
    if (item.type === 'observed-data') observedData.push({ record: item, path });
  };
  for (let i = 0; i < items.length; i++) visit(items[i], `${rootPath}[${i}]`);

  const resolveGlobal = (ref: string) => byId.get(ref);
  return observedData.map(({ record, path }) => {
    const firstObserved = timestampOf(record, 'first_observed', path);
    const lastObserved = timestampOf(record, 'last_observed', path);
    if (lastObserved < firstObserved) throw observationError(`${path}.last_observed`, 'must not be earlier than first_observed');
    const n = record.number_observed;
    if (!Number.isInteger(n) || (n as number) < 1) throw observationError(`${path}.number_observed`, 'must be an integer of at least 1');
    const embedded = record.objects;
    const legacy = options.stixVersion === '2.0' || (options.stixVersion !== '2.1' && record.object_refs === undefined && embedded !== undefined);
    const id = typeof record.id === 'string' ? record.id : undefined;
    if (legacy) {
      if (!isRecord(embedded)) throw observationError(`${path}.objects`, 'must be a dictionary of cyber-observable objects (STIX 2.0)');
      const objects: StixRecord[] = [];
      for (const [key, value] of Object.entries(embedded)) {
        if (!isRecord(value)) throw observationError(`${path}.objects.${key}`, 'must be a cyber-observable object');
        objects.push(value);
      }
      return {
        id,
        firstObserved,
        lastObserved,
        numberObserved: n as number,
        objectsByType: byType(objects),
        resolve: (ref) => {
          const target = embedded[ref];
          return isRecord(target) ? target : undefined;
        },
      };
    }
    const refs = record.object_refs;
    if (!Array.isArray(refs)) throw observationError(`${path}.object_refs`, 'must be a list of SCO identifiers (STIX 2.1)');
    const objects: StixRecord[] = [];
    refs.forEach((ref, i) => {
      if (typeof ref !== 'string') throw observationError(`${path}.object_refs[${i}]`, 'must be an identifier');
      const target = byId.get(ref);
      if (target) objects.push(target);
    });
    return { id, firstObserved, lastObserved, numberObserved: n as number, objectsByType: byType(objects), resolve: resolveGlobal };
  });
}

/** One observation made of the given SCOs (an alert's observables, say), for matching outside observed-data. */
export function observationOf(objects: StixRecord[], at: { firstObserved: number; lastObserved?: number; numberObserved?: number }): Observation {
  const byId = new Map<string, StixRecord>();
  for (const o of objects) if (typeof o.id === 'string') byId.set(o.id, o);
  return {
    id: undefined,
    firstObserved: at.firstObserved,
    lastObserved: at.lastObserved ?? at.firstObserved,
    numberObserved: at.numberObserved ?? 1,
    objectsByType: byType(objects),
    resolve: (ref) => byId.get(ref),
  };
}
