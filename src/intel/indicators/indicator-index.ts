import { type Clock, invalidInput, systemClock } from '../../core/index.ts';
import {
  type CompiledPattern,
  compilePattern,
  formatNetwork,
  type Observation,
  parseIpv4,
  parseNetwork,
  parsePattern,
  parseStixTimestamp,
  type TlpLevel,
  tlpOf,
} from '../stix/index.ts';
import { type AtomicKey, extractAtomicKeys } from './atomic-extraction.ts';
import { normaliseDomain, normaliseHashAlgorithm, normaliseUrl } from './normalise.ts';
import { Uint32SlotTable } from './uint32-slot-table.ts';

/**
 * The in-memory indicator index. Indicators whose pattern is atomic (see atomic-extraction.ts) are served by
 * hash maps in constant time: IPv4/IPv6 by one map per prefix length present (a /32 lookup probes only the
 * lengths that exist, so CIDR containment costs at most 33 or 129 probes and usually 1–3), domains by walking
 * the labels up to the registrable suffix, URLs normalised, hashes by algorithm and value. The rest are
 * compiled once and evaluated by the pattern matcher. Per-indicator facts live in typed arrays so a million
 * indicators stay well under a gigabyte.
 *
 * Decay: score = confidence × 0.5^(age / half-life), age measured from the indicator's `modified` (else
 * `valid_from`); half-lives by kind (ip 30 d, url 60 d, domain 90 d, pattern 90 d, hash never).
 */

export type IndicatorKind = 'ip' | 'domain' | 'url' | 'hash' | 'pattern';

export interface IndicatorHit {
  indicatorId: string;
  confidence: number;
  /** Confidence after decay, 0–100. */
  score: number;
  tlp: TlpLevel | undefined;
  /** exact: same value; network: inside a CIDR; parent-domain: a parent of the looked-up domain; pattern: matcher. */
  match: 'exact' | 'network' | 'parent-domain' | 'pattern';
  /** The indicator's key that matched (normalised value, network, or pattern). */
  key: string;
}

export interface IndicatorIndexOptions {
  clock?: Clock;
  /** Used when an indicator has no confidence property. */
  defaultConfidence?: number;
  halfLifeDays?: Partial<Record<IndicatorKind, number>>;
}

const DAY_MS = 86_400_000;

function ipv4Text(n: number): string {
  return `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}
const KIND_CODES: IndicatorKind[] = ['ip', 'domain', 'url', 'hash', 'pattern'];
const TLP_CODES: Array<TlpLevel | undefined> = [undefined, 'clear', 'green', 'amber', 'amber+strict', 'red'];
const DEFAULT_HALF_LIFE_DAYS: Record<IndicatorKind, number> = { ip: 30, domain: 90, url: 60, hash: Number.POSITIVE_INFINITY, pattern: 90 };

/** Map values are a slot (≥ 0) or, for keys shared by several indicators, -(overflow index) - 1. */
class SlotMap<K> {
  private readonly map = new Map<K, number>();
  private readonly overflow: number[][] = [];
  get size(): number {
    return this.map.size;
  }
  add(key: K, slot: number): void {
    const existing = this.map.get(key);
    if (existing === undefined) this.map.set(key, slot);
    else if (existing >= 0) {
      this.overflow.push([existing, slot]);
      this.map.set(key, -this.overflow.length);
    } else (this.overflow[-existing - 1] as number[]).push(slot);
  }
  forEach(key: K, visit: (slot: number) => void): void {
    const value = this.map.get(key);
    if (value === undefined) return;
    if (value >= 0) visit(value);
    else for (const slot of this.overflow[-value - 1] as number[]) visit(slot);
  }
  /** The slot for a key held by one indicator, -1 when none, -2 when several (then use `slots`). */
  first(key: K): number {
    const value = this.map.get(key);
    return value === undefined ? -1 : value >= 0 ? value : -2;
  }
  slots(key: K): number[] {
    const value = this.map.get(key);
    return value === undefined ? [] : value >= 0 ? [value] : (this.overflow[-value - 1] as number[]);
  }
}

function grow<T extends Uint8Array | Float64Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(Math.max(needed, array.length * 2));
  next.set(array);
  return next;
}

export class IndicatorIndex {
  private readonly clock: Clock;
  private readonly defaultConfidence: number;
  private readonly halfLifeMs: Record<IndicatorKind, number>;

  private count = 0;
  private ids: string[] = [];
  private confidence = new Uint8Array(1024);
  private tlp = new Uint8Array(1024);
  private kind = new Uint8Array(1024);
  /** 0 active, 1 revoked, 2 superseded by a newer version. */
  private state = new Uint8Array(1024);
  private validFrom = new Float64Array(1024);
  private validUntil = new Float64Array(1024);
  private assertedAt = new Float64Array(1024);
  private readonly slotById = new Map<string, number>();

  private readonly ipv4ByPrefix: Array<Uint32SlotTable | undefined> = new Array(33);
  private ipv4Prefixes: number[] = [];
  private readonly ipv6ByPrefix: Array<SlotMap<bigint> | undefined> = new Array(129);
  private ipv6Prefixes: number[] = [];
  private readonly domains = new SlotMap<string>();
  /** domainLabelCounts[n] = 1 when some indicator domain has n labels. */
  private readonly domainLabelCounts = new Uint8Array(256);
  private readonly urls = new SlotMap<string>();
  private readonly hashesByAlgorithm = new Map<string, SlotMap<string>>();
  private readonly patterns: Array<{ slot: number; pattern: CompiledPattern }> = [];
  private readonly sightings = new Map<number, { count: number; firstSeen: number; lastSeen: number }>();

  constructor(options: IndicatorIndexOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultConfidence = options.defaultConfidence ?? 50;
    const days = { ...DEFAULT_HALF_LIFE_DAYS, ...options.halfLifeDays };
    this.halfLifeMs = Object.fromEntries(Object.entries(days).map(([k, d]) => [k, d * DAY_MS])) as Record<IndicatorKind, number>;
  }

  get size(): number {
    return this.slotById.size;
  }

  stats(): { indicators: number; atomic: number; patterns: number; ipv4Prefixes: number[]; ipv6Prefixes: number[] } {
    return {
      indicators: this.size,
      atomic: this.size - this.patterns.length,
      patterns: this.patterns.length,
      ipv4Prefixes: [...this.ipv4Prefixes],
      ipv6Prefixes: [...this.ipv6Prefixes],
    };
  }

  /**
   * Adds a STIX 2.1 indicator (pattern_type "stix"). A newer version (later `modified`) of a known id
   * replaces the older one; an older or equal version is ignored. Returns how it is served.
   */
  add(indicator: Record<string, unknown>): 'atomic' | 'pattern' | 'ignored' {
    const id = indicator.id;
    if (typeof id !== 'string') throw invalidInput('indicator.id: must be a string');
    if (indicator.pattern_type !== 'stix') throw invalidInput(`indicator ${id}: pattern_type must be "stix"`);
    if (typeof indicator.pattern !== 'string') throw invalidInput(`indicator ${id}: pattern must be a string`);
    const validFrom = typeof indicator.valid_from === 'string' ? parseStixTimestamp(indicator.valid_from) : undefined;
    if (validFrom === undefined) throw invalidInput(`indicator ${id}: valid_from must be a STIX timestamp`);
    const validUntil = typeof indicator.valid_until === 'string' ? parseStixTimestamp(indicator.valid_until) : undefined;
    if (indicator.valid_until !== undefined && validUntil === undefined) throw invalidInput(`indicator ${id}: valid_until must be a STIX timestamp`);
    const modified = typeof indicator.modified === 'string' ? (parseStixTimestamp(indicator.modified) ?? validFrom) : validFrom;
    const confidence = indicator.confidence === undefined ? this.defaultConfidence : Number(indicator.confidence);
    if (!Number.isInteger(confidence) || confidence < 0 || confidence > 100) throw invalidInput(`indicator ${id}: confidence must be an integer from 0 to 100`);

    const previous = this.slotById.get(id);
    if (previous !== undefined) {
      if (modified <= (this.assertedAt[previous] as number)) return 'ignored';
      this.state[previous] = 2;
    }
    const ast = parsePattern(indicator.pattern);
    const keys = extractAtomicKeys(ast);
    const slot = this.allocate(id, {
      confidence,
      tlp: tlpOf(Array.isArray(indicator.object_marking_refs) ? (indicator.object_marking_refs as string[]) : undefined),
      validFrom,
      validUntil,
      assertedAt: modified,
      revoked: indicator.revoked === true,
      kind: keys ? (keys[0]?.kind ?? 'pattern') : 'pattern',
    });
    if (keys) {
      for (const key of keys) this.addKey(key, slot);
      return 'atomic';
    }
    this.patterns.push({ slot, pattern: compilePattern(indicator.pattern, {}, ast) });
    return 'pattern';
  }

  /** Marks an indicator revoked: it stops matching at once. */
  revoke(id: string): boolean {
    const slot = this.slotById.get(id);
    if (slot === undefined) return false;
    this.state[slot] = 1;
    return true;
  }

  private allocate(
    id: string,
    facts: {
      confidence: number;
      tlp: TlpLevel | undefined;
      validFrom: number;
      validUntil: number | undefined;
      assertedAt: number;
      revoked: boolean;
      kind: IndicatorKind;
    },
  ): number {
    const slot = this.count++;
    if (slot >= this.confidence.length) {
      const n = slot + 1;
      this.confidence = grow(this.confidence, n);
      this.tlp = grow(this.tlp, n);
      this.kind = grow(this.kind, n);
      this.state = grow(this.state, n);
      this.validFrom = grow(this.validFrom, n);
      this.validUntil = grow(this.validUntil, n);
      this.assertedAt = grow(this.assertedAt, n);
    }
    this.ids[slot] = id;
    this.confidence[slot] = facts.confidence;
    this.tlp[slot] = TLP_CODES.indexOf(facts.tlp);
    this.kind[slot] = KIND_CODES.indexOf(facts.kind);
    this.state[slot] = facts.revoked ? 1 : 0;
    this.validFrom[slot] = facts.validFrom;
    this.validUntil[slot] = facts.validUntil ?? Number.POSITIVE_INFINITY;
    this.assertedAt[slot] = facts.assertedAt;
    this.slotById.set(id, slot);
    return slot;
  }

  private addKey(key: AtomicKey, slot: number): void {
    switch (key.kind) {
      case 'ip':
        if (key.family === 4) {
          let map = this.ipv4ByPrefix[key.prefix];
          if (!map) {
            map = new Uint32SlotTable();
            this.ipv4ByPrefix[key.prefix] = map;
            this.ipv4Prefixes = [...this.ipv4Prefixes, key.prefix].sort((a, b) => b - a);
          }
          map.add(Number(key.address), slot);
        } else {
          let map = this.ipv6ByPrefix[key.prefix];
          if (!map) {
            map = new SlotMap<bigint>();
            this.ipv6ByPrefix[key.prefix] = map;
            this.ipv6Prefixes = [...this.ipv6Prefixes, key.prefix].sort((a, b) => b - a);
          }
          map.add(key.address, slot);
        }
        return;
      case 'domain': {
        let labels = 1;
        for (let k = 0; k < key.value.length; k++) if (key.value.charCodeAt(k) === 46) labels++;
        this.domainLabelCounts[Math.min(labels, 255)] = 1;
        this.domains.add(key.value, slot);
        return;
      }
      case 'url':
        this.urls.add(key.value, slot);
        return;
      case 'hash': {
        let map = this.hashesByAlgorithm.get(key.algorithm);
        if (!map) {
          map = new SlotMap<string>();
          this.hashesByAlgorithm.set(key.algorithm, map);
        }
        map.add(key.value, slot);
        return;
      }
    }
  }

  private isActive(slot: number, now: number): boolean {
    return this.state[slot] === 0 && (this.validFrom[slot] as number) <= now && now < (this.validUntil[slot] as number);
  }

  /** Confidence decayed by age (see the module comment). */
  scoreOf(slot: number, now: number): number {
    const halfLife = this.halfLifeMs[KIND_CODES[this.kind[slot] as number] as IndicatorKind];
    const confidence = this.confidence[slot] as number;
    if (!Number.isFinite(halfLife)) return confidence;
    const age = Math.max(0, now - (this.assertedAt[slot] as number));
    return confidence * 0.5 ** (age / halfLife);
  }

  private hit(slot: number, now: number, match: IndicatorHit['match'], key: string): IndicatorHit {
    return {
      indicatorId: this.ids[slot] as string,
      confidence: this.confidence[slot] as number,
      score: this.scoreOf(slot, now),
      tlp: TLP_CODES[this.tlp[slot] as number],
      match,
      key,
    };
  }

  /** Active indicators for an IPv4/IPv6 address (or CIDR): exact ones and networks that contain it. */
  lookupIp(value: string): IndicatorHit[] {
    const now = this.clock.now();
    const hits: IndicatorHit[] = [];
    const v4 = value.includes('/') ? undefined : parseIpv4(value);
    if (v4 !== undefined) {
      for (const prefix of this.ipv4Prefixes) {
        const network = prefix === 0 ? 0 : prefix === 32 ? v4 : v4 - (v4 % 2 ** (32 - prefix));
        const table = this.ipv4ByPrefix[prefix] as Uint32SlotTable;
        const single = table.first(network);
        if (single === -1) continue;
        const match = prefix === 32 ? 'exact' : 'network';
        if (single >= 0) {
          if (this.isActive(single, now)) hits.push(this.hit(single, now, match, prefix === 32 ? value : `${ipv4Text(network)}/${prefix}`));
        } else {
          for (const slot of table.slots(network))
            if (this.isActive(slot, now)) hits.push(this.hit(slot, now, match, prefix === 32 ? value : `${ipv4Text(network)}/${prefix}`));
        }
      }
      return hits;
    }
    const parsed = parseNetwork(value);
    if (!parsed) return hits;
    const prefixes = parsed.family === 4 ? this.ipv4Prefixes : this.ipv6Prefixes;
    const width = parsed.family === 4 ? 32n : 128n;
    for (const prefix of prefixes) {
      if (prefix > parsed.prefix) continue;
      const shift = width - BigInt(prefix);
      const network = (parsed.address >> shift) << shift;
      const visit = (slot: number) => {
        if (this.isActive(slot, now))
          hits.push(this.hit(slot, now, prefix === Number(width) ? 'exact' : 'network', formatNetwork({ family: parsed.family, address: network, prefix })));
      };
      if (parsed.family === 4) (this.ipv4ByPrefix[prefix] as Uint32SlotTable).forEach(Number(network), visit);
      else (this.ipv6ByPrefix[prefix] as SlotMap<bigint>).forEach(network, visit);
    }
    return hits;
  }

  /** Active indicators for a domain and, unless `includeParents` is false, for each of its parent domains. */
  lookupDomain(value: string, options: { includeParents?: boolean } = {}): IndicatorHit[] {
    const hits: IndicatorHit[] = [];
    let domain = normaliseDomain(value);
    let labels = 1;
    for (let k = 0; k < domain.length; k++) if (domain.charCodeAt(k) === 46) labels++;
    let match: IndicatorHit['match'] = 'exact';
    let now = Number.NaN;
    for (;;) {
      // Only suffixes with as many labels as some indicator domain can hit: skips most probes (and the TLD).
      if (this.domainLabelCounts[Math.min(labels, 255)] === 1) {
        const single = this.domains.first(domain);
        if (single !== -1) {
          if (Number.isNaN(now)) now = this.clock.now();
          if (single >= 0) {
            if (this.isActive(single, now)) hits.push(this.hit(single, now, match, domain));
          } else {
            for (const slot of this.domains.slots(domain)) if (this.isActive(slot, now)) hits.push(this.hit(slot, now, match, domain));
          }
        }
      }
      if (options.includeParents === false) break;
      const dot = domain.indexOf('.');
      if (dot < 0) break;
      domain = domain.slice(dot + 1);
      labels--;
      match = 'parent-domain';
    }
    return hits;
  }

  lookupUrl(value: string): IndicatorHit[] {
    const key = normaliseUrl(value);
    if (key === undefined) return [];
    const now = this.clock.now();
    const hits: IndicatorHit[] = [];
    this.urls.forEach(key, (slot) => {
      if (this.isActive(slot, now)) hits.push(this.hit(slot, now, 'exact', key));
    });
    return hits;
  }

  lookupHash(algorithm: string, value: string): IndicatorHit[] {
    const hits: IndicatorHit[] = [];
    const name = normaliseHashAlgorithm(algorithm);
    const map = this.hashesByAlgorithm.get(name);
    if (!map) return hits;
    const lower = value.toLowerCase();
    const single = map.first(lower);
    if (single === -1) return hits;
    const now = this.clock.now();
    if (single >= 0) {
      if (this.isActive(single, now)) hits.push(this.hit(single, now, 'exact', `${name}:${lower}`));
    } else {
      for (const slot of map.slots(lower)) if (this.isActive(slot, now)) hits.push(this.hit(slot, now, 'exact', `${name}:${lower}`));
    }
    return hits;
  }

  /**
   * Every active indicator that matches the observations: atomic ones through the maps (for each SCO value,
   * with STIX equality semantics, so no parent-domain hits), pattern ones through the matcher.
   */
  matchObservations(observations: Observation[]): IndicatorHit[] {
    const now = this.clock.now();
    const found = new Map<string, IndicatorHit>();
    const keep = (hits: IndicatorHit[]) => {
      for (const h of hits) if (!found.has(h.indicatorId)) found.set(h.indicatorId, h);
    };
    for (const observation of observations) {
      for (const type of ['ipv4-addr', 'ipv6-addr'])
        for (const o of observation.objectsByType.get(type) ?? []) if (typeof o.value === 'string') keep(this.lookupIp(o.value));
      for (const o of observation.objectsByType.get('domain-name') ?? [])
        if (typeof o.value === 'string') keep(this.lookupDomain(o.value, { includeParents: false }));
      for (const o of observation.objectsByType.get('url') ?? []) if (typeof o.value === 'string') keep(this.lookupUrl(o.value));
      for (const o of observation.objectsByType.get('file') ?? []) {
        const hashes = o.hashes;
        if (hashes && typeof hashes === 'object' && !Array.isArray(hashes)) {
          for (const [algorithm, value] of Object.entries(hashes)) if (typeof value === 'string') keep(this.lookupHash(algorithm, value));
        }
      }
    }
    for (const { slot, pattern } of this.patterns) {
      if (!this.isActive(slot, now) || found.has(this.ids[slot] as string)) continue;
      if (pattern.matches(observations)) found.set(this.ids[slot] as string, this.hit(slot, now, 'pattern', pattern.source));
    }
    return [...found.values()];
  }

  /** Records that an indicator was seen (for sightings export); returns the running tally. */
  recordSighting(indicatorId: string, at: number = this.clock.now()): { count: number; firstSeen: number; lastSeen: number } | undefined {
    const slot = this.slotById.get(indicatorId);
    if (slot === undefined) return undefined;
    const tally = this.sightings.get(slot) ?? { count: 0, firstSeen: at, lastSeen: at };
    tally.count++;
    tally.firstSeen = Math.min(tally.firstSeen, at);
    tally.lastSeen = Math.max(tally.lastSeen, at);
    this.sightings.set(slot, tally);
    return { ...tally };
  }
}
