import { CidrSet, parseIpAddress } from '../../core/index.ts';

/**
 * The Received chain read as hops, oldest first: who handed the message to whom, when, and how long each
 * relay held it. Timestamps come from each relay's own clock, so a negative delay is clock skew between
 * relays, reported as such rather than hidden; timezone offsets make delays correct across midnight and days.
 */
export interface Hop {
  /** 1 = the first relay (the sender's side). */
  index: number;
  from: string | null;
  /** Address of the connecting client as the receiving relay saw it (TCP-info), when given. */
  ip: string | null;
  by: string | null;
  with: string | null;
  /** ISO 8601 UTC, or null when the date is missing or unreadable. */
  timestamp: string | null;
  /** Seconds since the previous hop; null for the first hop or an unknown timestamp. */
  delaySeconds: number | null;
  /** Why this hop deserves a look: private_ip, unknown_host, clock_skew, no_timestamp. */
  flags: string[];
}

const PRIVATE_RANGES = new CidrSet([
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
]);

export function isPrivateIp(ip: string): boolean {
  return PRIVATE_RANGES.has(ip);
}

const IPV4 = /(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])/;
const IPV6_LITERAL = /\[(?:IPv6:)?([0-9a-fA-F:.]{2,45})\]/;

function clause(text: string, word: string, stopWords: string[]): string | null {
  const re = new RegExp(`(?:^|\\s)${word}\\s+(.+?)(?=\\s(?:${stopWords.join('|')})\\s|;|$)`, 'is');
  const match = re.exec(text);
  return match?.[1]?.trim() ?? null;
}

function firstIp(text: string): string | null {
  const v6 = IPV6_LITERAL.exec(text);
  if (v6?.[1]?.includes(':') && parseIpAddress(v6[1])) return v6[1].toLowerCase();
  const v4 = IPV4.exec(text);
  if (v4?.[1] && parseIpAddress(v4[1])) return v4[1];
  return null;
}

export interface ParsedReceived {
  from: string | null;
  fromHost: string | null;
  ip: string | null;
  by: string | null;
  with: string | null;
  time: number | null;
}

export function parseReceived(value: string): ParsedReceived {
  // Real Received fields are a few hundred characters; the cap keeps clause matching linear on hostile ones.
  const text = value.slice(0, 4000).replace(/\s+/g, ' ').trim();
  const semicolon = text.lastIndexOf(';');
  const body = semicolon >= 0 ? text.slice(0, semicolon) : text;
  const dateText = semicolon >= 0 ? text.slice(semicolon + 1).trim() : '';
  const stops = ['by', 'via', 'with', 'id', 'for', 'from'];
  const from = clause(body, 'from', stops);
  const by = clause(body, 'by', stops);
  const withClause = clause(body, 'with', stops);
  const fromHost = from ? (from.split(/[\s(]/)[0] ?? '').replace(/^\[|\]$/g, '') || null : null;
  // The TCP-info in parentheses is what the receiver saw; the host before it is only what the client claimed.
  const tcpInfo = from ? (/\(([^)]*)\)/.exec(from)?.[1] ?? '') : '';
  const ip = (tcpInfo ? firstIp(tcpInfo) : null) ?? (from ? firstIp(from) : null);
  const parsed = dateText ? Date.parse(dateText.replace(/\s*\([^)]*\)\s*$/, '')) : Number.NaN;
  return {
    from,
    fromHost,
    ip,
    by: by ? (by.split(/[\s(]/)[0] ?? null) : null,
    with: withClause ? (withClause.split(/[\s(]/)[0] ?? null) : null,
    time: Number.isFinite(parsed) ? parsed : null,
  };
}

/** Hops oldest first from Received values given newest first (header order). */
export function receivedHops(receivedNewestFirst: string[], maxHops = 100): Hop[] {
  const parsed = receivedNewestFirst.slice(0, maxHops).map(parseReceived).reverse();
  const hops: Hop[] = [];
  let previousTime: number | null = null;
  parsed.forEach((entry, i) => {
    const flags: string[] = [];
    if (entry.ip && isPrivateIp(entry.ip)) flags.push('private_ip');
    if (entry.from && (!entry.fromHost || /^unknown$/i.test(entry.fromHost) || /\bunknown\b/i.test(entry.from))) flags.push('unknown_host');
    let delay: number | null = null;
    if (entry.time === null) flags.push('no_timestamp');
    else if (previousTime !== null) {
      delay = Math.round((entry.time - previousTime) / 1000);
      if (delay < 0) flags.push('clock_skew');
    }
    if (entry.time !== null) previousTime = entry.time;
    hops.push({
      index: i + 1,
      from: entry.fromHost,
      ip: entry.ip,
      by: entry.by,
      with: entry.with,
      timestamp: entry.time === null ? null : new Date(entry.time).toISOString(),
      delaySeconds: delay,
      flags,
    });
  });
  return hops;
}

/** The first public IP that handed the message in: the sender's MTA as seen by the first trusted relay. */
export function originatingIp(hops: Hop[]): string | null {
  for (const hop of hops) if (hop.ip && !isPrivateIp(hop.ip)) return hop.ip;
  return null;
}
