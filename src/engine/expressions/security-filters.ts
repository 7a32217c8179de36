import { createHash } from 'node:crypto';
import jmespath from 'jmespath';
import safeRegex from 'safe-regex2';
import { cidrContains, isIpAddress, parseCidr, parseDuration, parseIpAddress } from '../../core/index.ts';
import { type DataValue, ExpressionError, toPlainData, toText } from './values.ts';

/**
 * Filters SOC engineers reach for in every playbook: defanging indicators, IP and CIDR checks, domain
 * parts, encodings and hashes, JMESPath queries, guarded regular expressions and date math. Each one
 * takes and returns plain data, and caps its work so an attacker-controlled alert cannot stall a run.
 */

/** Longest text a regex filter will scan, and the longest pattern it will compile. */
export const REGEX_INPUT_LIMIT = 100_000;
export const REGEX_PATTERN_LIMIT = 512;

export function defang(value: DataValue): string {
  return toText(value)
    .replace(/^http(s?):\/\//i, (_m, s: string) => `hxxp${s}://`)
    .replace(/:\/\//g, '[://]')
    .replace(/\./g, '[.]')
    .replace(/@/g, '[@]');
}

export function refang(value: DataValue): string {
  return toText(value)
    .replace(/\[(\.|dot)\]|\(\.\)|\{\.\}/gi, '.')
    .replace(/\[@\]|\[at\]/gi, '@')
    .replace(/\[:\/\/\]/g, '://')
    .replace(/^hxxp(s?)/i, (_m, s: string) => `http${s}`)
    .replace(/^fxp/i, 'ftp');
}

export function ipInCidr(value: DataValue, cidrs: DataValue): boolean {
  const ranges = (Array.isArray(cidrs) ? cidrs : [cidrs]).map((cidr) => {
    const range = parseCidr(toText(cidr));
    if (!range) throw new ExpressionError(`ip_in_cidr: ${JSON.stringify(toText(cidr))} is not a CIDR`);
    return range;
  });
  // IPv4-mapped IPv6 counts as the IPv4 address it carries, on both sides (core/net-address).
  const address = parseIpAddress(toText(value));
  return address !== undefined && ranges.some((range) => cidrContains(range, address));
}

const PRIVATE_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '::1/128',
  '::/128',
  'fc00::/7',
  'fe80::/10',
];

/** RFC 1918, loopback, link-local, CGNAT, benchmark and ULA space: addresses that never identify an outside attacker. */
export function isPrivateIp(value: DataValue): boolean {
  return ipInCidr(value, PRIVATE_RANGES);
}

/**
 * Multi-label public suffixes we know. Not the full Public Suffix List (about 10,000 rules): names under
 * an unlisted multi-label suffix (e.g. `city.kawasaki.jp`) get the last two labels as registered domain.
 */
const MULTI_LABEL_SUFFIXES = new Set(
  (
    'co.uk org.uk ac.uk gov.uk net.uk me.uk ltd.uk plc.uk com.au net.au org.au edu.au gov.au co.nz org.nz net.nz co.jp ne.jp or.jp ac.jp go.jp ' +
    'com.br net.br org.br gov.br com.cn net.cn org.cn gov.cn edu.cn co.in net.in org.in gov.in ac.in co.za org.za gov.za com.mx org.mx gob.mx ' +
    'com.tr org.tr gov.tr com.ar com.co com.sg com.hk com.tw com.my co.kr or.kr co.id co.th com.ua com.pl com.ru com.sa com.eg co.il ' +
    'github.io gitlab.io herokuapp.com appspot.com blogspot.com cloudfront.net azurewebsites.net s3.amazonaws.com pages.dev workers.dev netlify.app vercel.app'
  ).split(' '),
);

function hostOf(value: DataValue): string {
  let text = refang(value).trim().toLowerCase();
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text)) {
    try {
      text = new URL(text).hostname;
    } catch {
      text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').split(/[/?#]/)[0] ?? '';
    }
  } else {
    text = text.split(/[/?#]/)[0] ?? '';
  }
  text = text.replace(/^[^@]*@/, '').replace(/:\d+$/, '');
  return text.replace(/\.$/, '');
}

/** The host part of a URL, e-mail address or domain (refanged, lower-cased, no port). */
export function domainOf(value: DataValue): string {
  return hostOf(value);
}

export function registeredDomain(value: DataValue): string {
  const host = hostOf(value);
  if (isIpAddress(host)) return host;
  const labels = host.split('.').filter(Boolean);
  for (const width of [3, 2]) {
    if (labels.length > width && MULTI_LABEL_SUFFIXES.has(labels.slice(-width).join('.'))) return labels.slice(-(width + 1)).join('.');
  }
  return labels.slice(-2).join('.');
}

export function b64encode(value: DataValue): string {
  return Buffer.from(toText(value), 'utf8').toString('base64');
}

export function b64decode(value: DataValue): string {
  const text = toText(value).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new ExpressionError('b64decode: input is not base64');
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

export function hashOf(algorithm: 'sha256' | 'sha1' | 'md5', value: DataValue): string {
  return createHash(algorithm).update(toText(value), 'utf8').digest('hex');
}

const FORBIDDEN_JMESPATH = /\b(constructor|__proto__|prototype)\b/;

export function jsonQuery(value: DataValue, expression: DataValue): DataValue {
  const query = toText(expression);
  if (FORBIDDEN_JMESPATH.test(query)) throw new ExpressionError('json_query: constructor, __proto__ and prototype are not reachable');
  let result: unknown;
  try {
    result = jmespath.search(value as never, query);
  } catch (error) {
    throw new ExpressionError(`json_query: ${(error as Error).message}`);
  }
  // JMESPath hands back whatever it reached; copy into fresh data so no host object escapes.
  return toPlainData(result);
}

const compiledRegexes = new Map<string, RegExp>();

function guardedRegex(pattern: DataValue, flags: string): RegExp {
  const source = toText(pattern);
  if (source.length > REGEX_PATTERN_LIMIT) throw new ExpressionError(`regex pattern is longer than ${REGEX_PATTERN_LIMIT} characters`);
  const key = `${flags}/${source}`;
  let regex = compiledRegexes.get(key);
  if (regex === undefined) {
    try {
      regex = new RegExp(source, flags);
    } catch (error) {
      throw new ExpressionError(`invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`);
    }
    // Star height above one ((a+)+ and friends) is what makes backtracking catastrophic.
    if (!safeRegex(regex)) throw new ExpressionError(`regex ${JSON.stringify(source)} may backtrack catastrophically (nested quantifiers); simplify it`);
    if (compiledRegexes.size > 1000) compiledRegexes.clear();
    compiledRegexes.set(key, regex);
  }
  regex.lastIndex = 0;
  return regex;
}

function regexInput(value: DataValue): string {
  const text = toText(value);
  if (text.length > REGEX_INPUT_LIMIT) throw new ExpressionError(`regex input is longer than ${REGEX_INPUT_LIMIT} characters; slice it first`);
  return text;
}

function flagsFrom(kwargs: Record<string, DataValue>): string {
  return kwargs.ignorecase === true ? 'i' : '';
}

/** First match: the whole match, or the first group when the pattern has groups; none when no match. */
export function regexSearch(value: DataValue, pattern: DataValue, kwargs: Record<string, DataValue>): DataValue {
  const match = guardedRegex(pattern, flagsFrom(kwargs)).exec(regexInput(value));
  if (!match) return null;
  return match.length > 1 ? (match[1] ?? null) : match[0];
}

export function regexFindall(value: DataValue, pattern: DataValue, kwargs: Record<string, DataValue>): DataValue {
  const regex = guardedRegex(pattern, `g${flagsFrom(kwargs)}`);
  const out: string[] = [];
  for (const match of regexInput(value).matchAll(regex)) {
    out.push(match.length > 1 ? (match[1] ?? '') : match[0]);
    if (out.length >= 10_000) break;
  }
  return out;
}

export function regexReplace(value: DataValue, pattern: DataValue, replacement: DataValue, kwargs: Record<string, DataValue>): string {
  return regexInput(value).replace(guardedRegex(pattern, `g${flagsFrom(kwargs)}`), toText(replacement ?? ''));
}

/** Dates are ISO-8601 strings or epoch milliseconds in, ISO-8601 strings out. */
export function toEpochMs(value: DataValue): number {
  if (typeof value === 'number') return value;
  const ms = Date.parse(toText(value));
  if (Number.isNaN(ms)) throw new ExpressionError(`${JSON.stringify(value)} is not a date (use ISO-8601 or epoch milliseconds)`);
  return ms;
}

function durationMs(value: DataValue): number {
  const ms = typeof value === 'number' ? value : parseDuration(toText(value));
  if (ms === undefined) throw new ExpressionError(`${JSON.stringify(value)} is not a duration such as 30s, 5m, 24h or 7d`);
  return ms;
}

export function dateAdd(value: DataValue, duration: DataValue): string {
  return new Date(toEpochMs(value) + durationMs(duration)).toISOString();
}

export function dateSub(value: DataValue, duration: DataValue): string {
  return new Date(toEpochMs(value) - durationMs(duration)).toISOString();
}

export function toIso(value: DataValue): string {
  return new Date(toEpochMs(value)).toISOString();
}

/** Milliseconds from `other` to `value` (positive when value is later). */
export function dateDiffMs(value: DataValue, other: DataValue): number {
  return toEpochMs(value) - toEpochMs(other);
}
