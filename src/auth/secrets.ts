import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The bearer secrets Riposte hands out. API tokens look like `rpt_<43 base62 chars>` (32 random bytes):
 * the prefix lets secret scanners (and people) recognise a leaked token. Only SHA-256 hashes are
 * stored; a fast hash suffices because the secrets are random, not chosen by people.
 */
export const API_TOKEN_PREFIX = 'rpt_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** ceil(256 / log2(62)): every 32-byte value fits in 43 base62 digits. */
const TOKEN_DIGITS = 43;
const API_TOKEN = /^rpt_[0-9A-Za-z]{43}$/;

export function base62(bytes: Uint8Array, digits: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < digits; i++) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

export function generateApiToken(): string {
  return `${API_TOKEN_PREFIX}${base62(randomBytes(32), TOKEN_DIGITS)}`;
}

export function looksLikeApiToken(value: string): boolean {
  return API_TOKEN.test(value);
}

/** Session cookies and CSRF tokens: 32 random bytes, base64url. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings without leaking where they differ; hashing first makes the lengths equal. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}
