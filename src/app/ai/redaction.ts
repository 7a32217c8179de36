import { redactSecrets } from '../../core/index.ts';
import { scrub } from '../../integrations/sdk/index.ts';

/**
 * What goes to the model and what is stored of an exchange is redacted three ways: values under
 * secret-looking keys (the logger's `redactSecrets`), the exact values of secrets Riposte knows (the
 * integrations' `scrub`), and strings shaped like credentials wherever they appear (a key pasted into a
 * comment, a token in an alert's raw event).
 */
const TOKEN_SHAPES: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted private key]'],
  [/\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}/g, '[redacted token]'],
  [/\brpt_[0-9A-Za-z]{20,}/g, '[redacted token]'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, '[redacted token]'],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, '[redacted token]'],
  [/\bglpat-[A-Za-z0-9_-]{20,}/g, '[redacted token]'],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, '[redacted token]'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/g, '[redacted token]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '[redacted token]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/gi, '$1 [redacted token]'],
  [
    /\b((?:pass(?:word)?|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|client[_-]?secret)\s*[:=]\s*)(?!\[redacted)["']?[^\s"',;]{6,}/gi,
    '$1[redacted]',
  ],
];

export function redactText(text: string, secretValues: readonly string[]): string {
  let out = scrub(text, secretValues);
  for (const [shape, replacement] of TOKEN_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** Deep copy with secret-keyed values, known secret values and credential-shaped strings redacted. */
export function redactValue<T>(value: T, secretValues: readonly string[]): T {
  const keyed = redactSecrets(value);
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redactText(node, secretValues);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(keyed) as T;
}
