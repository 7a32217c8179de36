import { type Clock, invalidInput, type Logger, systemClock } from '../../core/index.ts';
import type { IntelObjectInput, Store } from '../../store/index.ts';
import { parseStixTimestamp, TLP_MARKINGS, type TlpLevel, tlpOf } from '../stix/index.ts';
import { IndicatorIndex, type IndicatorIndexOptions } from './indicator-index.ts';

/**
 * The indicator store: the in-memory index (constant-time lookups) backed by the database (durability,
 * TAXII). Objects are written to the store first and then to the index, so a crash between the two only
 * costs a reload; on start `load()` rebuilds the index from every stored indicator. Sightings are counted
 * in both places: the index for the hot path, the store so the tally survives restarts.
 */

/** STIX timestamp → microseconds since the epoch (STIX allows any sub-second precision; we keep µs). */
export function stixTimestampMicros(text: string): number | undefined {
  const ms = parseStixTimestamp(text);
  return ms === undefined ? undefined : Math.round(ms * 1000);
}

/** Microseconds → RFC 3339 with exactly six fractional digits, as TAXII servers write `date_added`. */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${String(((us % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0')}Z`;
}

/** Marking definition id for a TLP 2.0 level (what we attach when a feed says "treat as TLP:x"). */
export function tlpMarkingId(level: TlpLevel): string {
  for (const [id, marking] of Object.entries(TLP_MARKINGS)) if (marking.version === '2.0' && marking.level === level) return id;
  throw invalidInput(`unknown TLP level ${level}`);
}

/**
 * The storage row for one STIX object: its version is `modified`, else `created`, else (SCOs and marking
 * definitions without either) the time it is added, as TAXII 2.1 defines an object's version.
 */
export function storedObjectOf(object: Record<string, unknown>, addedAtUs: number, defaults: { confidence?: number; tlp?: TlpLevel } = {}): IntelObjectInput {
  const id = object.id;
  const type = object.type;
  if (typeof id !== 'string' || typeof type !== 'string') throw invalidInput('a STIX object needs string "id" and "type" properties');
  const versionText = typeof object.modified === 'string' ? object.modified : typeof object.created === 'string' ? object.created : undefined;
  const versionUs = versionText === undefined ? addedAtUs : stixTimestampMicros(versionText);
  if (versionUs === undefined) throw invalidInput(`${id}: modified/created is not a STIX timestamp`);
  const confidence = typeof object.confidence === 'number' ? object.confidence : (defaults.confidence ?? null);
  const markings = Array.isArray(object.object_marking_refs) ? (object.object_marking_refs as string[]) : undefined;
  const validFrom = typeof object.valid_from === 'string' ? parseStixTimestamp(object.valid_from) : undefined;
  const validUntil = typeof object.valid_until === 'string' ? parseStixTimestamp(object.valid_until) : undefined;
  return {
    id,
    type,
    specVersion: typeof object.spec_version === 'string' ? object.spec_version : '2.1',
    version: versionText ?? formatMicros(addedAtUs),
    versionUs,
    raw: object,
    confidence,
    tlp: tlpOf(markings) ?? defaults.tlp ?? null,
    validFrom: validFrom === undefined ? null : Math.round(validFrom),
    validUntil: validUntil === undefined ? null : Math.round(validUntil),
    revoked: object.revoked === true,
    ...(versionText === undefined ? { unversioned: true } : {}),
  };
}

export interface IndicatorStoreOptions extends IndicatorIndexOptions {
  store: Store;
  logger?: Logger;
}

export interface IngestResult {
  /** Per object, in input order: its id, version and whether it was new. */
  outcomes: Array<{ id: string; version: string; outcome: 'added' | 'duplicate' }>;
  added: number;
  duplicates: number;
  /** Indicators now served by the index (atomic or pattern). */
  indexed: number;
  /** Indicators stored but not indexed (pattern_type other than stix, or a pattern the parser refuses). */
  notIndexed: Array<{ id: string; reason: string }>;
}

export class IndicatorStore {
  readonly index: IndicatorIndex;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;

  constructor(options: IndicatorStoreOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.index = new IndicatorIndex(options);
  }

  /** Rebuilds the index from every stored indicator (all collections); returns how many it serves. */
  async load(batch = 5000): Promise<number> {
    let afterUs: number | undefined;
    for (;;) {
      const rows = await this.#store.intel.scanObjects({ types: ['indicator'], ...(afterUs === undefined ? {} : { afterUs }), limit: batch });
      for (const row of rows) this.#indexOne(row.raw);
      if (rows.length < batch) break;
      afterUs = rows[rows.length - 1]?.dateAddedUs;
    }
    return this.index.size;
  }

  /**
   * Stores objects in a collection and indexes the indicators among them. `defaults` fill in confidence and
   * TLP a feed is configured with when the objects do not carry their own.
   */
  async ingest(
    collection: string,
    objects: ReadonlyArray<Record<string, unknown>>,
    defaults: { confidence?: number; tlp?: TlpLevel } = {},
  ): Promise<IngestResult> {
    const now = this.#clock.now() * 1000;
    const rows = objects.map((o) => storedObjectOf(o, now, defaults));
    const outcomes = await this.#store.intel.addObjects(collection, rows);
    const result: IngestResult = {
      outcomes: outcomes.map(({ id, version, outcome }) => ({ id, version, outcome })),
      added: 0,
      duplicates: 0,
      indexed: 0,
      notIndexed: [],
    };
    outcomes.forEach((outcome, i) => {
      if (outcome.outcome === 'duplicate') {
        result.duplicates++;
        return;
      }
      result.added++;
      const row = rows[i] as IntelObjectInput;
      if (row.type !== 'indicator') return;
      const indicator = defaults.confidence !== undefined && row.raw.confidence === undefined ? { ...row.raw, confidence: defaults.confidence } : row.raw;
      const problem = this.#indexOne(
        defaults.tlp && !tlpOf(indicator.object_marking_refs as string[] | undefined) ? withTlp(indicator, defaults.tlp) : indicator,
      );
      if (problem === undefined) result.indexed++;
      else result.notIndexed.push({ id: row.id, reason: problem });
    });
    return result;
  }

  /** Records a sighting in the index and the store; returns the durable tally. */
  async recordSighting(indicatorId: string, at: number = this.#clock.now()) {
    this.index.recordSighting(indicatorId, at);
    return this.#store.intel.recordSighting(indicatorId, at);
  }

  #indexOne(indicator: Record<string, unknown>): string | undefined {
    if (indicator.pattern_type !== 'stix') return `pattern_type ${JSON.stringify(indicator.pattern_type)} is stored but not matched`;
    try {
      this.index.add(indicator);
      return undefined;
    } catch (error) {
      this.#logger?.debug({ indicator: indicator.id, err: (error as Error).message }, 'indicator not indexed');
      return (error as Error).message;
    }
  }
}

function withTlp(indicator: Record<string, unknown>, tlp: TlpLevel): Record<string, unknown> {
  const refs = Array.isArray(indicator.object_marking_refs) ? (indicator.object_marking_refs as string[]) : [];
  return { ...indicator, object_marking_refs: [...refs, tlpMarkingId(tlp)] };
}
