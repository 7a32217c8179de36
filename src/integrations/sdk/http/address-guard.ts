import { BlockList, isIP } from 'node:net';

/**
 * Which addresses outbound requests may reach. Playbooks build URLs from alert data, so without this
 * an attacker's alert could point `core.http_request` at the cloud metadata service or an internal admin
 * port. Everything not globally routable is refused unless the operator allow-lists it.
 */
const BLOCKED_V4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const;

const BLOCKED_V6 = [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 (AWS metadata over IPv6)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const;

const blocked = new BlockList();
for (const [network, bits] of BLOCKED_V4) blocked.addSubnet(network, bits, 'ipv4');
for (const [network, bits] of BLOCKED_V6) blocked.addSubnet(network, bits, 'ipv6');

/** The IPv4 address hidden inside an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::ffff:0:)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) return hexPairToV4(hex[1] as string, hex[2] as string);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) return hexPairToV4(sixToFour[1] as string, sixToFour[2] as string);
  return undefined;
}

function hexPairToV4(high: string, low: string): string {
  const h = Number.parseInt(high, 16);
  const l = Number.parseInt(low, 16);
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return blocked.check(v4, 'ipv4');
  return blocked.check(address, 'ipv6');
}

/** Operator exceptions: CIDRs / single addresses, and host names (`*.corp.example` for a whole subdomain). */
export class AllowList {
  readonly #networks = new BlockList();
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];

  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      const [network, bits] = entry.split('/');
      const family = isIP(network ?? '');
      if (family !== 0) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        this.#networks.addSubnet(network as string, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), type);
      } else if (entry.startsWith('*.')) {
        this.#suffixes.push(entry.slice(1));
      } else if (entry) {
        this.#hosts.add(entry);
      }
    }
  }

  allowsHost(host: string): boolean {
    const name = host.toLowerCase().replace(/\.$/, '');
    return this.#hosts.has(name) || this.#suffixes.some((suffix) => name.endsWith(suffix));
  }

  allowsAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const v4 = family === 6 ? embeddedIpv4(address) : undefined;
    if (v4 !== undefined) return this.#networks.check(v4, 'ipv4');
    return this.#networks.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
