/**
 * IP addresses and CIDR ranges as numbers, for the questions guardrails and playbook filters ask all the
 * time: is this address inside that range, is this host name under that domain. Addresses are parsed
 * strictly (no octal-looking IPv4 parts, no zone ids); IPv4-mapped IPv6 (::ffff:192.0.2.1) is treated as
 * the IPv4 address it carries, so an allow-list written in IPv4 also covers its mapped form.
 */
export interface IpAddress {
  readonly family: 4 | 6;
  /** The address as an unsigned integer (32 bits for IPv4, 128 bits for IPv6). */
  readonly value: bigint;
}

export interface CidrRange {
  family: 4 | 6;
  /** Network address (host bits cleared). */
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. "10.0.0.0/8". */
  text: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V4_MASK = 0xffff_ffffn;

function parseIpv4Value(text: string): bigint | undefined {
  if (!IPV4.test(text)) return undefined;
  let value = 0;
  for (const part of text.split('.')) value = value * 256 + Number(part);
  return BigInt(value);
}

/** True for dotted-quad IPv4 text without leading zeros (the only IPv4 form Riposte accepts). */
export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/** The eight 16-bit groups of IPv6 text (brackets allowed, zone ids not); embedded IPv4 stays as its two groups. */
export function parseIpv6Groups(text: string): number[] | undefined {
  const value = parseIpv6Value(text);
  if (value === undefined) return undefined;
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn));
}

function parseIpv6Value(raw: string): bigint | undefined {
  let text = raw.toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.length < 2 || !/^[0-9a-f:.]+$/.test(text)) return undefined;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  const lastPart = text.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    const v4 = parseIpv4Value(lastPart);
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    text = text.slice(0, lastColon + 1);
    // "::ffff:1.2.3.4" leaves "::ffff:", "1::1.2.3.4" leaves "1::"; drop a single trailing colon.
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): bigint[] | undefined => {
    if (part === '') return [];
    const out: bigint[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      out.push(BigInt(Number.parseInt(group, 16)));
    }
    return out;
  };
  const head = groupsOf(halves[0] ?? '');
  if (head === undefined) return undefined;
  let groups: bigint[];
  if (halves.length === 1) {
    groups = [...head, ...tail];
    if (groups.length !== 8) return undefined;
  } else {
    const rest = groupsOf(halves[1] ?? '');
    if (rest === undefined) return undefined;
    const known = head.length + rest.length + tail.length;
    if (known > 7) return undefined;
    groups = [...head, ...new Array<bigint>(8 - known).fill(0n), ...rest, ...tail];
  }
  let value = 0n;
  for (const group of groups) value = (value << 16n) | group;
  return value;
}

// Guardrails ask about the same few addresses many times per decision (one per rule): remember recent answers.
const MEMO_LIMIT = 4096;
const ipMemo = new Map<string, IpAddress | null>();
const domainMemo = new Map<string, string | null>();

function remember<T>(memo: Map<string, T>, key: string, value: T): T {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is neither. IPv4-mapped IPv6 becomes IPv4. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const known = ipMemo.get(text);
  if (known !== undefined) return known ?? undefined;
  return remember(ipMemo, text, parseIpAddressUncached(text)) ?? undefined;
}

function parseIpAddressUncached(text: string): IpAddress | null {
  const trimmed = text.trim();
  const v4 = parseIpv4Value(trimmed);
  if (v4 !== undefined) return Object.freeze({ family: 4, value: v4 });
  const v6 = parseIpv6Value(trimmed);
  if (v6 === undefined) return null;
  if (v6 >> 32n === 0xffffn) return Object.freeze({ family: 4, value: v6 & V4_MASK });
  return Object.freeze({ family: 6, value: v6 });
}

export function isIpAddress(text: string): boolean {
  return parseIpAddress(text) !== undefined;
}

function maskFor(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32n : 128n;
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all << (bits - BigInt(prefix))) & all;
}

export function formatIpAddress(address: IpAddress): string {
  if (address.family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((address.value >> BigInt(112 - i * 16)) & 0xffffn));
  return formatIpv6Groups(groups);
}

/** RFC 5952 text of eight 16-bit groups: lower case, no leading zeros, the longest run (≥ 2) of zeros as "::". */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits are cleared, so
 * "10.1.2.3/8" is the network 10.0.0.0/8. Undefined when the text is not a range.
 */
export function parseCidr(text: string): CidrRange | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? undefined : trimmed.slice(slash + 1);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const v4 = parseIpv4Value(addressText);
  const v6 = v4 === undefined ? parseIpv6Value(addressText) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  let family: 4 | 6 = v4 !== undefined ? 4 : 6;
  let value = (v4 ?? v6) as bigint;
  const max = family === 4 ? 32 : 128;
  let prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  if (family === 6 && value >> 32n === 0xffffn && prefix >= 96) {
    // ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8.
    family = 4;
    value &= V4_MASK;
    prefix -= 96;
  }
  const network = value & maskFor(family, prefix);
  return { family, network, prefix, text: `${formatIpAddress({ family, value: network })}/${prefix}` };
}

export function cidrContains(range: CidrRange, address: IpAddress): boolean {
  return range.family === address.family && (address.value & maskFor(range.family, range.prefix)) === range.network;
}

/**
 * A set of ranges compiled for repeated lookups (allow-lists, private ranges). Lookup cost grows with the
 * number of distinct prefix lengths, not the number of ranges.
 */
export class CidrSet {
  readonly #buckets: Array<{ family: 4 | 6; prefix: number; mask: bigint; networks: Map<bigint, CidrRange> }> = [];
  readonly size: number;

  constructor(ranges: Iterable<string | CidrRange>) {
    let size = 0;
    for (const item of ranges) {
      const range = typeof item === 'string' ? parseCidr(item) : item;
      if (range === undefined) throw new TypeError(`${JSON.stringify(item)} is not an IP address or CIDR range`);
      let bucket = this.#buckets.find((b) => b.family === range.family && b.prefix === range.prefix);
      if (!bucket) {
        bucket = { family: range.family, prefix: range.prefix, mask: maskFor(range.family, range.prefix), networks: new Map() };
        this.#buckets.push(bucket);
      }
      if (!bucket.networks.has(range.network)) size++;
      bucket.networks.set(range.network, range);
    }
    this.size = size;
    // Most specific first, so `match` reports the narrowest range that holds the address.
    this.#buckets.sort((a, b) => b.prefix - a.prefix);
  }

  /** The narrowest range holding `address`, or undefined. */
  match(address: IpAddress | string): CidrRange | undefined {
    const ip = typeof address === 'string' ? parseIpAddress(address) : address;
    if (ip === undefined) return undefined;
    for (const bucket of this.#buckets) {
      if (bucket.family !== ip.family) continue;
      const hit = bucket.networks.get(ip.value & bucket.mask);
      if (hit) return hit;
    }
    return undefined;
  }

  has(address: IpAddress | string): boolean {
    return this.match(address) !== undefined;
  }

  /** Every range in the set (normalised, duplicates dropped). */
  *ranges(): IterableIterator<CidrRange> {
    for (const bucket of this.#buckets) yield* bucket.networks.values();
  }
}

/** Host name in lower case without a trailing dot; undefined when it is not a plausible DNS name. */
export function normalizeDomain(text: string): string | undefined {
  const known = domainMemo.get(text);
  if (known !== undefined) return known ?? undefined;
  return remember(domainMemo, text, normalizeDomainUncached(text) ?? null) ?? undefined;
}

function normalizeDomainUncached(text: string): string | undefined {
  let value = text.trim().toLowerCase();
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value.startsWith('*.')) value = value.slice(2);
  if (value.length === 0 || value.length > 253) return undefined;
  const labels = value.split('.');
  for (const label of labels) if (!/^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(label)) return undefined;
  return value;
}

/** True when `host` is `domain` or a subdomain of it ("a.b.example.com" is under "example.com"). */
export function isSameOrSubdomain(host: string, domain: string): boolean {
  const h = normalizeDomain(host);
  const d = normalizeDomain(domain);
  if (h === undefined || d === undefined) return false;
  return h === d || h.endsWith(`.${d}`);
}

/**
 * Domains compiled for repeated "is this host under one of these" lookups: walks the host's parent
 * domains (at most its label count) instead of comparing against every entry.
 */
export class DomainSet {
  readonly #domains = new Set<string>();

  constructor(domains: Iterable<string>) {
    for (const domain of domains) {
      const normalized = normalizeDomain(domain);
      if (normalized === undefined) throw new TypeError(`${JSON.stringify(domain)} is not a domain name`);
      this.#domains.add(normalized);
    }
  }

  get size(): number {
    return this.#domains.size;
  }

  /** The listed domain that `host` equals or sits under (the most specific one), or undefined. */
  match(host: string): string | undefined {
    if (this.#domains.size === 0) return undefined;
    const name = normalizeDomain(host);
    if (name === undefined) return undefined;
    if (this.#domains.has(name)) return name;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const parent = name.slice(dot + 1);
      if (this.#domains.has(parent)) return parent;
    }
    return undefined;
  }

  has(host: string): boolean {
    return this.match(host) !== undefined;
  }

  /** Every domain in the set, normalised. */
  domains(): IterableIterator<string> {
    return this.#domains.values();
  }
}

/** The host part of a URL or e-mail address, or the text itself when it already is a host. */
export function hostOf(text: string): string {
  const trimmed = text.trim();
  const at = trimmed.lastIndexOf('@');
  if (at >= 0 && !trimmed.includes('/')) return trimmed.slice(at + 1);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      return new URL(trimmed).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return trimmed;
    }
  }
  return trimmed;
}
