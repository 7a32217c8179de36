import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RiposteError } from '../../core/index.ts';

/**
 * Envelope encryption for integration secrets at rest. Each secret gets its own random 256-bit data key;
 * the value is sealed with AES-256-GCM under the data key, and the data key is sealed (wrapped) with
 * AES-256-GCM under the master key. Rotating the master key re-wraps the data keys only; the sealed values
 * do not change. The master key id (a hash prefix) is stored with each secret, so a wrong key is a clear
 * error rather than garbage. Additional authenticated data binds a sealed value to its instance and name:
 * swapping two ciphertexts in the database fails to open.
 */
export interface SealedSecret {
  /** Which master key wrapped the data key. */
  key_id: string;
  /** base64: iv(12) | tag(16) | wrapped data key(32) */
  wrapped_key: string;
  /** base64: iv(12) | tag(16) | ciphertext */
  ciphertext: string;
}

export class MasterKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RiposteError('secrets.invalid_master_key', 'the master key must be 32 bytes (64 hex or 44 base64 characters)');
    this.#key = Buffer.from(key);
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  static parse(text: string): MasterKey {
    const trimmed = text.trim();
    if (/^[0-9a-f]{64}$/i.test(trimmed)) return new MasterKey(Buffer.from(trimmed, 'hex'));
    const decoded = Buffer.from(trimmed, 'base64');
    if (decoded.length === 32) return new MasterKey(decoded);
    throw new RiposteError('secrets.invalid_master_key', 'RIPOSTE_MASTER_KEY / the master key file must hold 32 bytes as 64 hex or base64 characters');
  }

  static generate(): MasterKey {
    return new MasterKey(randomBytes(32));
  }

  /** Hex form, for writing the key file once. */
  export(): string {
    return this.#key.toString('hex');
  }

  wrap(dataKey: Buffer, aad: string): string {
    return seal(this.#key, dataKey, aad).toString('base64');
  }

  unwrap(wrapped: string, aad: string): Buffer {
    return open(this.#key, Buffer.from(wrapped, 'base64'), aad);
  }
}

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 28) throw new RiposteError('secrets.corrupt', 'sealed secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch (error) {
    throw new RiposteError('secrets.corrupt', 'a sealed secret failed authentication (tampered, or sealed for another instance/name)', { cause: error });
  }
}

export function sealSecret(master: MasterKey, context: string, value: string): SealedSecret {
  const dataKey = randomBytes(32);
  try {
    return {
      key_id: master.id,
      wrapped_key: master.wrap(dataKey, `key:${context}`),
      ciphertext: seal(dataKey, Buffer.from(value, 'utf8'), `value:${context}`).toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
}

export function openSecret(master: MasterKey, context: string, sealed: SealedSecret): string {
  if (sealed.key_id !== master.id)
    throw new RiposteError(
      'secrets.wrong_master_key',
      `secret was wrapped by master key ${sealed.key_id}, but the current key is ${master.id}; rotate with the old key first`,
    );
  const dataKey = master.unwrap(sealed.wrapped_key, `key:${context}`);
  try {
    return open(dataKey, Buffer.from(sealed.ciphertext, 'base64'), `value:${context}`).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}

/** Re-wraps the data key under a new master key; the ciphertext is untouched. */
export function rewrapSecret(from: MasterKey, to: MasterKey, context: string, sealed: SealedSecret): SealedSecret {
  if (sealed.key_id === to.id) return sealed;
  if (sealed.key_id !== from.id) throw new RiposteError('secrets.wrong_master_key', `secret was wrapped by master key ${sealed.key_id}, not ${from.id}`);
  const dataKey = from.unwrap(sealed.wrapped_key, `key:${context}`);
  try {
    return { key_id: to.id, wrapped_key: to.wrap(dataKey, `key:${context}`), ciphertext: sealed.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The master key: `RIPOSTE_MASTER_KEY` if set, else the key file. In embedded mode a missing file is
 * generated (mode 0600) and `onGenerated` is told, so the caller can warn that losing that file loses every
 * stored secret.
 */
export function loadMasterKey(options: { env?: NodeJS.ProcessEnv; keyFile: string; generate: boolean; onGenerated?: (path: string) => void }): MasterKey {
  const fromEnv = (options.env ?? process.env).RIPOSTE_MASTER_KEY;
  if (fromEnv) return MasterKey.parse(fromEnv);
  if (existsSync(options.keyFile)) return MasterKey.parse(readFileSync(options.keyFile, 'utf8'));
  if (!options.generate)
    throw new RiposteError('secrets.no_master_key', `no master key: set RIPOSTE_MASTER_KEY or create ${options.keyFile} (64 hex characters)`);
  const key = MasterKey.generate();
  mkdirSync(dirname(options.keyFile), { recursive: true });
  writeFileSync(options.keyFile, `${key.export()}\n`, { mode: 0o600, flag: 'wx' });
  options.onGenerated?.(options.keyFile);
  return key;
}
