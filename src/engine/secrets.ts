import { randomBytes } from 'node:crypto';
import { RiposteError } from '../core/index.ts';
import { type DataValue, isPlainObject } from './expressions/index.ts';

/**
 * Secrets are references. Templates see `secrets.NAME` as an opaque placeholder string; the runner
 * swaps placeholders for values only in the input it hands to the action, after the journal has
 * recorded the input with placeholders. Values that come back in an action's output are scrubbed.
 */
export interface SecretSource {
  names(): string[];
  resolve(name: string): Promise<string | undefined>;
}

// The nonce makes placeholders unforgeable: alert data that imitates one is not replaced by a secret.
const NONCE = randomBytes(12).toString('hex');
const PLACEHOLDER = new RegExp(`\u27e6secret:${NONCE}:([A-Za-z0-9_.-]+)\u27e7`, 'g');
export const SCRUBBED = '[secret]';

export function secretPlaceholders(names: readonly string[]): Record<string, DataValue> {
  const out: Record<string, DataValue> = {};
  for (const name of names) out[name] = `\u27e6secret:${NONCE}:${name}\u27e7`;
  return out;
}

/** Replaces placeholders inside every string of `value`; returns the resolved value and the secret values used. */
export async function resolveSecrets(value: unknown, source: SecretSource): Promise<{ value: unknown; values: string[] }> {
  const used = new Map<string, string>();
  const names = new Set<string>();
  const collect = (node: unknown): void => {
    if (typeof node === 'string') for (const match of node.matchAll(PLACEHOLDER)) names.add(match[1] as string);
    else if (Array.isArray(node)) node.forEach(collect);
    else if (isPlainObject(node)) Object.values(node).forEach(collect);
  };
  collect(value);
  if (names.size === 0) return { value, values: [] };
  for (const name of names) {
    const secret = await source.resolve(name);
    if (secret === undefined) throw new RiposteError('engine.secret_missing', `secret "${name}" is not configured`, { retryable: false });
    used.set(name, secret);
  }
  const replace = (node: unknown): unknown => {
    if (typeof node === 'string') return node.replace(PLACEHOLDER, (_m, name: string) => used.get(name) ?? '');
    if (Array.isArray(node)) return node.map(replace);
    if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replace(v)]));
    return node;
  };
  return { value: replace(value), values: [...used.values()].filter((v) => v.length >= 4) };
}

export function scrubSecrets(value: DataValue, secrets: readonly string[]): DataValue {
  if (typeof value === 'string') return secrets.reduce((text, secret) => text.split(secret).join(SCRUBBED), value);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, secrets));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubSecrets(v as DataValue, secrets)]));
  return value;
}
