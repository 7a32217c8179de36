import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalidInput } from '../core/index.ts';

/**
 * Password hashing with argon2id (Node's built-in `crypto.argon2`), stored in the PHC string format
 * `$argon2id$v=19$m=…,t=…,p=…$salt$hash` so parameters can be raised later: a hash made with weaker
 * parameters still verifies and is re-hashed at the next successful sign-in.
 */
export interface PasswordHashParams {
  /** Memory in KiB. */
  memory: number;
  /** Passes over memory (t). */
  passes: number;
  parallelism: number;
}

/** OWASP's argon2id recommendation (m=19 MiB, t=2, p=1). */
export const DEFAULT_PASSWORD_HASH_PARAMS: PasswordHashParams = { memory: 19_456, passes: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase, short enough that hashing can't be used to burn CPU. */
export const MAX_PASSWORD_LENGTH = 256;

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function runArgon2(password: string, salt: Buffer, params: PasswordHashParams, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      { message: password, nonce: salt, parallelism: params.parallelism, tagLength, memory: params.memory, passes: params.passes },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, params: PasswordHashParams = DEFAULT_PASSWORD_HASH_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const tag = await runArgon2(password, salt, params, TAG_BYTES);
  return `$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(tag)}`;
}

/** Whether `password` matches `encoded`; false (never an exception) for malformed hashes. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = PHC.exec(encoded);
  if (!match) return false;
  const params = { memory: Number(match[1]), passes: Number(match[2]), parallelism: Number(match[3]) };
  const salt = Buffer.from(match[4] ?? '', 'base64');
  const expected = Buffer.from(match[5] ?? '', 'base64');
  if (expected.length < 16 || salt.length < 8) return false;
  const actual = await runArgon2(password, salt, params, expected.length);
  return timingSafeEqual(actual, expected);
}

/** True when the hash was made with weaker parameters than `params` (so it should be redone). */
export function needsRehash(encoded: string, params: PasswordHashParams = DEFAULT_PASSWORD_HASH_PARAMS): boolean {
  const match = PHC.exec(encoded);
  if (!match) return true;
  return Number(match[1]) < params.memory || Number(match[2]) < params.passes || Number(match[3]) < params.parallelism;
}

// A real hash of a random password: verifying against it when the user does not exist (or may not sign
// in) costs the same as a real check, so response time does not reveal which names exist.
let decoyHash: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string, params: PasswordHashParams = DEFAULT_PASSWORD_HASH_PARAMS): Promise<void> {
  decoyHash ??= hashPassword(randomBytes(18).toString('base64url'), params);
  await verifyPassword(password, await decoyHash);
}

/** Length rules only (NIST SP 800-63B): no composition rules, which push people to predictable patterns. */
export function checkPasswordPolicy(password: string, field = 'password'): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw invalidInput(`${field} must be at least ${MIN_PASSWORD_LENGTH} characters`, { field });
  }
  if (password.length > MAX_PASSWORD_LENGTH) throw invalidInput(`${field} must be at most ${MAX_PASSWORD_LENGTH} characters`, { field });
}

/** A random password for bootstrap and resets: 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < 20) {
    for (const byte of randomBytes(32)) {
      // Rejection sampling keeps every character equally likely.
      if (byte < 256 - (256 % alphabet.length) && out.length < 20) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}
