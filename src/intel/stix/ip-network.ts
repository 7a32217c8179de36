/**
 * IPv4/IPv6 addresses and CIDR networks, for ISSUBSET/ISSUPERSET and the indicator index. Parsing is strict:
 * dotted-quad without leading zeros, RFC 4291 text for IPv6 (with `::` and an embedded IPv4 tail), no zones.
 */

export interface IpNetwork {
  family: 4 | 6;
  /** The network address with host bits cleared. */
  address: bigint;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  // A character loop rather than split/regex: this sits on the indicator index's hot path.
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      digits++;
      if (digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tailWords: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tailWords = [Math.floor(v4 / 65536), v4 % 65536];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith('::')) head = `${head}`;
    else head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseWords = (part: string): number[] | undefined => {
    if (part === '') return [];
    const words: number[] = [];
    for (const w of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
      words.push(Number.parseInt(w, 16));
    }
    return words;
  };
  const left = parseWords(halves[0] as string);
  const right = halves.length === 2 ? parseWords(halves[1] as string) : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length + tailWords.length;
  let words: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    words = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tailWords];
  } else {
    if (given !== 8) return undefined;
    words = [...left, ...tailWords];
  }
  let value = 0n;
  for (const w of words) value = (value << 16n) | BigInt(w);
  return value;
}

function mask(family: 4 | 6, prefix: number): bigint {
  const width = family === 4 ? 32n : 128n;
  const all = (1n << width) - 1n;
  return prefix === 0 ? 0n : (all >> (width - BigInt(prefix))) << (width - BigInt(prefix));
}

/**
 * Parses an address or CIDR network. With `strict`, host bits set below the prefix make it invalid
 * (STIX asks producers for clean networks); by default they are cleared, as consumers are lenient.
 */
export function parseNetwork(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  let family: 4 | 6;
  let address: bigint;
  const v4 = parseIpv4(addressText);
  if (v4 !== undefined) {
    family = 4;
    address = BigInt(v4);
  } else {
    const v6 = parseIpv6(addressText);
    if (v6 === undefined) return undefined;
    family = 6;
    address = v6;
  }
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p) || Number(p) > max) return undefined;
    prefix = Number(p);
  }
  return { family, address: address & mask(family, prefix), prefix };
}

/** True when `inner` lies entirely inside `outer` (same family). */
export function networkContains(outer: IpNetwork, inner: IpNetwork): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return (inner.address & mask(outer.family, outer.prefix)) === outer.address;
}

export function formatNetwork(network: IpNetwork): string {
  const max = network.family === 4 ? 32 : 128;
  let text: string;
  if (network.family === 4) {
    const n = Number(network.address);
    text = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  } else {
    const words: string[] = [];
    for (let i = 7; i >= 0; i--) words.push(((network.address >> BigInt(i * 16)) & 0xffffn).toString(16));
    text = words.join(':');
  }
  return network.prefix === max ? text : `${text}/${network.prefix}`;
}
