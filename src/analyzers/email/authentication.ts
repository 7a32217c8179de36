import { promises as dns } from 'node:dns';
import { authenticate } from 'mailauth';

/**
 * SPF, DKIM, DMARC and ARC: what the receiving servers said (Authentication-Results, believed only from
 * configured authserv-ids, because anyone can write that header before sending) and what Riposte finds
 * when it verifies again through an injectable DNS resolver (fixtures offline, a cached live resolver
 * otherwise).
 */

export type AuthResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy' | 'unknown';
export type AuthMethod = 'spf' | 'dkim' | 'dmarc' | 'arc';

export interface AuthSummary {
  spf: AuthResult;
  dkim: AuthResult;
  dmarc: AuthResult;
  arc: AuthResult;
  /** verified: Riposte's own check; header: a trusted Authentication-Results; none: nothing to go on. */
  source: Record<AuthMethod, 'verified' | 'header' | 'none'>;
  /** Domains the results speak for (DKIM d=, SPF mail-from domain, DMARC header.from). */
  domains: { dkim: string[]; spf: string | null; dmarc: string | null };
  /** Authentication-Results headers ignored because their authserv-id is not trusted. */
  untrustedHeaders: number;
}

/** Same contract as mailauth's resolver: records for (name, type), throwing an error coded ENOTFOUND/ENODATA when none. */
export type DnsResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

const METHODS: AuthMethod[] = ['spf', 'dkim', 'dmarc', 'arc'];
const KNOWN_RESULTS = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

function normaliseResult(value: string | undefined): AuthResult {
  const v = (value ?? '').toLowerCase();
  if (v === 'temperr') return 'temperror';
  if (v === 'hardfail') return 'fail';
  return (KNOWN_RESULTS.has(v) ? v : 'unknown') as AuthResult;
}

export interface HeaderAuth {
  results: Partial<Record<AuthMethod, AuthResult>>;
  dkimDomains: string[];
  spfDomain: string | null;
  dmarcDomain: string | null;
  untrusted: number;
}

/**
 * Reads Authentication-Results (RFC 8601) newest first and keeps, per method, the first result stamped by a
 * trusted authserv-id. With no trusted ids configured, nothing is believed.
 */
export function trustedHeaderAuth(values: string[], trustedAuthservIds: string[]): HeaderAuth {
  const trusted = new Set(trustedAuthservIds.map((id) => id.toLowerCase()));
  const out: HeaderAuth = { results: {}, dkimDomains: [], spfDomain: null, dmarcDomain: null, untrusted: 0 };
  for (const raw of values.slice(0, 50)) {
    const value = raw
      .slice(0, 8000)
      .replace(/\([^()]*\)/g, ' ')
      .replace(/\s+/g, ' ');
    const authservId = (value.split(';')[0] ?? '').trim().split(/\s/)[0]?.toLowerCase() ?? '';
    if (!trusted.has(authservId)) {
      out.untrusted++;
      continue;
    }
    for (const statement of value.split(';').slice(1)) {
      const match = /^\s*(spf|dkim|dmarc|arc)\s*=\s*([a-z]+)/i.exec(statement);
      if (!match?.[1]) continue;
      const method = match[1].toLowerCase() as AuthMethod;
      const result = normaliseResult(match[2]);
      if (method === 'dkim') {
        const d = /header\.(?:d|i)\s*=\s*@?([^\s;]+)/i.exec(statement)?.[1]?.toLowerCase();
        if (d && result === 'pass') out.dkimDomains.push(d.replace(/^.*@/, ''));
        // Several signatures: one pass is enough for DKIM to count as passed.
        if (out.results.dkim !== 'pass') out.results.dkim = result;
        continue;
      }
      if (out.results[method] !== undefined) continue;
      out.results[method] = result;
      if (method === 'spf') out.spfDomain = /smtp\.(?:mailfrom|helo)\s*=\s*([^\s;]+)/i.exec(statement)?.[1]?.replace(/^.*@/, '').toLowerCase() ?? null;
      if (method === 'dmarc') out.dmarcDomain = /header\.from\s*=\s*([^\s;]+)/i.exec(statement)?.[1]?.toLowerCase() ?? null;
    }
  }
  return out;
}

export interface VerifiedAuth {
  spf: AuthResult;
  dkim: AuthResult;
  dmarc: AuthResult;
  arc: AuthResult;
  dkimDomains: string[];
  spfDomain: string | null;
  dmarcDomain: string | null;
}

/** Verifies the raw message again with mailauth; the client IP, HELO and envelope sender come from the newest Received. */
export async function verifyAuthentication(raw: Uint8Array, resolver: DnsResolver): Promise<VerifiedAuth> {
  const result = await authenticate(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
    resolver,
    trustReceived: true,
    mta: 'riposte',
    disableBimi: true,
  });
  const dkimResults = result.dkim?.results ?? [];
  const dkimPass = dkimResults.filter((r) => r.status?.result === 'pass');
  // mailauth says "neutral" when a signature's body hash does not match: the content changed after signing.
  const firstDkim = normaliseResult(dkimResults[0]?.status?.result);
  const dkim: AuthResult = dkimResults.length === 0 ? 'none' : dkimPass.length > 0 ? 'pass' : firstDkim === 'neutral' ? 'fail' : firstDkim;
  const spf = result.spf ? normaliseResult(result.spf.status?.result) : 'none';
  const dmarc = result.dmarc ? normaliseResult(result.dmarc.status?.result) : 'none';
  const arc = result.arc ? normaliseResult(result.arc.status?.result) : 'none';
  return {
    spf,
    dkim,
    dmarc,
    arc,
    dkimDomains: dkimPass.map((r) => (r.signingDomain ?? '').toLowerCase()).filter(Boolean),
    spfDomain: result.spf ? (result.spf.domain ?? null) : null,
    dmarcDomain: result.dmarc ? (result.dmarc.domain ?? null) : null,
  };
}

export function combineAuth(header: HeaderAuth, verified: VerifiedAuth | undefined): AuthSummary {
  const summary: AuthSummary = {
    spf: 'none',
    dkim: 'none',
    dmarc: 'none',
    arc: 'none',
    source: { spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' },
    domains: { dkim: [], spf: null, dmarc: null },
    untrustedHeaders: header.untrusted,
  };
  for (const method of METHODS) {
    // The trusted receiver saw the live SMTP session (real client IP, DNS at delivery time); prefer it.
    const fromHeader = header.results[method];
    if (fromHeader !== undefined) {
      summary[method] = fromHeader;
      summary.source[method] = 'header';
    } else if (verified) {
      summary[method] = verified[method];
      summary.source[method] = 'verified';
    }
  }
  summary.domains.dkim = summary.source.dkim === 'header' ? header.dkimDomains : (verified?.dkimDomains ?? []);
  summary.domains.spf = summary.source.spf === 'header' ? header.spfDomain : (verified?.spfDomain ?? null);
  summary.domains.dmarc = summary.source.dmarc === 'header' ? header.dmarcDomain : (verified?.dmarcDomain ?? null);
  return summary;
}

/** A resolver answering only from the given records: tests and air-gapped installs. Keys are "name TYPE". */
export function fixtureResolver(records: Record<string, string[] | string[][]>): DnsResolver {
  const table = new Map(Object.entries(records).map(([key, value]) => [key.toLowerCase(), value]));
  return async (name, rrtype) => {
    const hit = table.get(`${name.toLowerCase().replace(/\.$/, '')} ${rrtype.toLowerCase()}`);
    if (hit) return hit;
    const error = new Error(`queryTxt ENOTFOUND ${name}`) as NodeJS.ErrnoException;
    error.code = 'ENOTFOUND';
    throw error;
  };
}

/**
 * The system resolver with a bounded in-memory cache (answers and misses alike), so a batch of reports
 * from one campaign does not query the same keys again.
 */
export function cachedLiveResolver(options: { ttlMs?: number; maxEntries?: number } = {}): DnsResolver {
  const ttl = options.ttlMs ?? 10 * 60_000;
  const max = options.maxEntries ?? 5000;
  const cache = new Map<string, { at: number; value?: string[][] | string[]; error?: unknown }>();
  const resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
  return async (name, rrtype) => {
    const key = `${name.toLowerCase()} ${rrtype}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < ttl) {
      if (hit.error) throw hit.error;
      return hit.value as string[][] | string[];
    }
    try {
      const value = (await resolver.resolve(name, rrtype)) as unknown as string[][] | string[];
      remember(key, { at: Date.now(), value });
      return value;
    } catch (error) {
      remember(key, { at: Date.now(), error });
      throw error;
    }
  };
  function remember(key: string, entry: { at: number; value?: string[][] | string[]; error?: unknown }) {
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(key, entry);
  }
}
