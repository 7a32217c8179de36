/**
 * Canonical forms for index keys, so that lookups agree with what feeds write: domains lower-case without a
 * trailing dot; URLs with scheme and host lower-cased, default ports and fragments dropped, an empty path as
 * "/", and percent-escapes of unreserved characters decoded (RFC 3986 §6.2.2); hash algorithm names in the
 * STIX vocabulary spelling (SHA-256, MD5 …).
 */

export function normaliseDomain(domain: string): string {
  const lower = domain.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ftp:': '21', 'ws:': '80', 'wss:': '443' };

export function normaliseUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  url.hash = '';
  if (DEFAULT_PORTS[url.protocol] === url.port) url.port = '';
  const decodeUnreserved = (s: string) =>
    s.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const ch = String.fromCharCode(Number.parseInt(hex, 16));
      return /[A-Za-z0-9\-._~]/.test(ch) ? ch : m.toUpperCase();
    });
  url.pathname = decodeUnreserved(url.pathname);
  url.search = decodeUnreserved(url.search);
  return url.href;
}

const HASH_NAMES: Record<string, string> = {
  md5: 'MD5',
  sha1: 'SHA-1',
  'sha-1': 'SHA-1',
  sha256: 'SHA-256',
  'sha-256': 'SHA-256',
  sha512: 'SHA-512',
  'sha-512': 'SHA-512',
  'sha3-256': 'SHA3-256',
  sha3256: 'SHA3-256',
  'sha3-512': 'SHA3-512',
  sha3512: 'SHA3-512',
  ssdeep: 'SSDEEP',
  tlsh: 'TLSH',
};

export function normaliseHashAlgorithm(name: string): string {
  return HASH_NAMES[name.toLowerCase().replace(/_/g, '-')] ?? HASH_NAMES[name.toLowerCase()] ?? name.toUpperCase();
}
