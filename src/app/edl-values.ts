import { domainToASCII } from 'node:url';
import { parse as parseHost } from 'tldts';
import { formatIpAddress, parseCidr, parseIpAddress, RiposteError } from '../core/index.ts';
import { warningListEntries } from '../intel/index.ts';

/**
 * What may go on each type of External Dynamic List, in the form firewalls and gateways import
 * (PAN-OS formatting guidelines for IP, URL and domain lists; mail gateways' sender block lists):
 *
 * - `ip`: an address or CIDR range, at most /16 (IPv4) or /32 (IPv6) wide.
 * - `url`: no scheme, lower-case host (IDNA/punycode), no port (PAN-OS matches host and path, never the
 *   port), no fragment, at most 255 characters. A whole site ends in `/` so `evil.example` cannot also
 *   match `evil.example.org`. `*` and `^` are accepted only as whole tokens and never at the level of a
 *   public suffix (`*.top/` would block a TLD).
 * - `domain`: IDNA/punycode, lower-case, optionally `*.`-prefixed; never a public suffix alone.
 * - `sender`: an e-mail address or a whole sending domain, lower-case.
 *
 * Nothing that would cut off a popular site is accepted: a whole-site URL, a domain or a sender domain
 * whose registrable domain is among the top 10,000 sites (the Tranco warning list in data/warninglists) is
 * refused; a URL with a path on such a site (one phishing form on a big hosting service) is fine.
 */
export const EDL_TYPES = ['ip', 'url', 'domain', 'sender'] as const;
export type EdlType = (typeof EDL_TYPES)[number];

/** PAN-OS accepts URL and domain entries up to 255 characters. */
const MAX_ENTRY = 255;

let topDomains: Set<string> | undefined;

/** The most-visited registrable domains (Tranco top 10k warning list), loaded on first use. */
export function isTopDomain(domain: string): boolean {
  topDomains ??= new Set(warningListEntries('tranco10k'));
  return topDomains.has(domain);
}

function refused(field: string, message: string): RiposteError {
  return new RiposteError('edl.invalid_value', message, { status: 400, details: { field } });
}

/** The canonical value for a list of `type`, or a 400 `edl.invalid_value` naming the problem. */
export function edlValueFor(type: EdlType, text: string): string {
  if (typeof text !== 'string' || text.trim() === '') throw refused(type, `an empty ${type} cannot be listed`);
  switch (type) {
    case 'ip':
      return edlIpValue(text);
    case 'url':
      return edlUrlValue(text);
    case 'domain':
      return edlDomainValue(text);
    case 'sender':
      return edlSenderValue(text);
  }
}

/** An address or CIDR range in canonical form; refuses ranges wide enough to cut off a large part of the internet. */
export function edlIpValue(text: string): string {
  const trimmed = text.trim();
  const ip = parseIpAddress(trimmed);
  if (ip) return formatIpAddress(ip);
  const range = parseCidr(trimmed);
  if (!range) throw new RiposteError('input.invalid', `${JSON.stringify(text)} is not an IP address or CIDR range`, { status: 400, details: { field: 'ip' } });
  const minimum = range.family === 4 ? 16 : 32;
  if (range.prefix < minimum)
    throw new RiposteError('input.invalid', `${trimmed} is wider than /${minimum}: Riposte does not block ranges that large`, {
      status: 400,
      details: { field: 'ip' },
    });
  return range.text;
}

const WILDCARDS = new Set(['*', '^']);

/**
 * A host as firewalls list it: lower-case ASCII (IDNA), wildcard labels kept as tokens. Returns the host
 * and the part of it after the last wildcard, which must still name something below a public suffix.
 */
function canonicalHost(field: string, raw: string, original: string, allowWildcards: 'any' | 'prefix'): string {
  const host = raw.toLowerCase().replace(/\.$/, '');
  if (host === '') throw refused(field, `${JSON.stringify(original)} has no host`);
  const bracketed = /^\[(.+)\]$/.exec(host)?.[1];
  const ip = parseIpAddress(bracketed ?? host);
  if (ip) {
    if (field !== 'url') throw refused(field, `${JSON.stringify(original)} is an IP address: put it on an ip list`);
    const text = formatIpAddress(ip);
    return text.includes(':') ? `[${text}]` : text;
  }
  const labels = host.split('.');
  let lastWildcard = -1;
  const ascii = labels.map((label, i) => {
    if (WILDCARDS.has(label)) {
      if (allowWildcards === 'prefix' && (i !== 0 || label !== '*'))
        throw refused(field, `${JSON.stringify(original)}: a domain list accepts a wildcard only as a leading "*."`);
      lastWildcard = i;
      return label;
    }
    if (/[*^]/.test(label)) throw refused(field, `${JSON.stringify(original)}: a wildcard (* or ^) must be a whole label, not part of "${label}"`);
    const converted = domainToASCII(label);
    if (converted === '' || !/^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(converted))
      throw refused(field, `${JSON.stringify(original)}: "${label}" is not a valid host name label`);
    return converted;
  });
  const rest = ascii.slice(lastWildcard + 1).join('.');
  const parsed = parseHost(rest, { allowPrivateDomains: true });
  if (!parsed.domain) {
    throw refused(
      field,
      lastWildcard >= 0
        ? `${JSON.stringify(original)}: a wildcard over ${rest === '' ? 'a top-level domain' : `the public suffix ${rest}`} would block a whole TLD`
        : `${JSON.stringify(original)}: ${rest} is a public suffix, not a domain anyone owns`,
    );
  }
  return ascii.join('.');
}

function registrableOf(host: string): string | undefined {
  const labels = host.split('.');
  const lastWildcard = labels.findLastIndex((l) => WILDCARDS.has(l));
  return parseHost(labels.slice(lastWildcard + 1).join('.'), { allowPrivateDomains: true }).domain ?? undefined;
}

function refuseTopDomain(field: string, host: string, original: string, what: string): void {
  const registrable = registrableOf(host);
  if (registrable && isTopDomain(registrable))
    throw refused(
      field,
      `${JSON.stringify(original)} would block ${what} ${registrable}, one of the 10,000 most-visited sites; list a full URL with its path instead`,
    );
}

/** A URL list entry: `host[/path][?query]`, whole sites as `host/`. */
export function edlUrlValue(text: string): string {
  const original = text.trim();
  if (/\s/.test(original)) throw refused('url', `${JSON.stringify(original)} contains white space`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(original);
  if (scheme && !['http', 'https'].includes((scheme[1] ?? '').toLowerCase()))
    throw refused('url', `${JSON.stringify(original)}: only http and https URLs can be listed (a firewall cannot match ${scheme[1]}:)`);
  const withoutScheme = scheme ? original.slice(scheme[0].length) : original;
  const withoutFragment = withoutScheme.replace(/#.*$/s, '');
  const hostEnd = withoutFragment.search(/[/?]/);
  let authority = hostEnd < 0 ? withoutFragment : withoutFragment.slice(0, hostEnd);
  let tail = hostEnd < 0 ? '' : withoutFragment.slice(hostEnd);
  // user:password@ only disguises the real host (a phishing trick); the host after it is what is blocked.
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  const port = /^(\[[^\]]+\]|[^:]+):(\d*)$/.exec(authority);
  if (port) authority = port[1] ?? authority;
  const host = canonicalHost('url', authority, original, 'any');
  if (tail.startsWith('?')) tail = `/${tail}`;
  // Requests carry paths percent-encoded; an entry with raw non-ASCII would never match one.
  tail = tail.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  if (tail === '') tail = '/';
  if (tail === '/') refuseTopDomain('url', host, original, 'all of');
  const value = `${host}${tail}`;
  if (value.length > MAX_ENTRY) throw refused('url', `${JSON.stringify(original.slice(0, 80))}… is longer than the ${MAX_ENTRY} characters firewalls accept`);
  return value;
}

/** A domain list entry: `example.com` or `*.example.com`. */
export function edlDomainValue(text: string): string {
  const original = text.trim();
  if (/[\s/:@?#]/.test(original))
    throw refused('domain', `${JSON.stringify(original)} is not a domain name (a domain list takes no scheme, path, port or address)`);
  const host = canonicalHost('domain', original, original, 'prefix');
  refuseTopDomain('domain', host, original, 'all of');
  if (host.length > MAX_ENTRY) throw refused('domain', `${JSON.stringify(original.slice(0, 80))}… is longer than ${MAX_ENTRY} characters`);
  return host;
}

/** A sender list entry: `someone@example.com`, or `example.com` for every sender of a domain. */
export function edlSenderValue(text: string): string {
  const original = text.trim();
  const bare = original.replace(/^mailto:/i, '').replace(/^<(.*)>$/, '$1');
  const at = bare.lastIndexOf('@');
  if (at < 0 || at === 0) {
    // A whole domain (`example.com` or `@example.com`): refused for the big mail providers.
    const domain = canonicalHost('sender', at === 0 ? bare.slice(1) : bare, original, 'prefix');
    if (domain.startsWith('*.')) throw refused('sender', `${JSON.stringify(original)}: a sender list takes an address or a domain, not a wildcard`);
    refuseTopDomain('sender', domain, original, 'every sender at');
    return domain;
  }
  const local = bare.slice(0, at).toLowerCase();
  if (!/^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    throw refused('sender', `${JSON.stringify(original)}: "${local}" is not a valid mailbox name`);
  const domain = canonicalHost('sender', bare.slice(at + 1), original, 'prefix');
  if (domain.startsWith('*.')) throw refused('sender', `${JSON.stringify(original)}: an address cannot have a wildcard domain`);
  return `${local}@${domain}`;
}

/** The type a value most likely is, for a list that has none yet (an operator's first `riposte edl add`). */
export function guessEdlType(text: string): EdlType {
  const value = text.trim();
  if (parseIpAddress(value) || parseCidr(value)) return 'ip';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /[/?]/.test(value)) return 'url';
  if (value.includes('@')) return 'sender';
  return 'domain';
}
