import type { Command } from 'commander';
import { auditEventFromAuth } from '../app/index.ts';
import { type AuthService, authPolicyFromConfig, createAuthService, isPermission, isRole, PERMISSIONS, ROLES } from '../auth/index.ts';
import { CasesService } from '../cases/index.ts';
import { parseDuration, usageError } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { configFor } from './context.ts';

/**
 * `users` and `tokens` work on the store directly (like `db`), with the same config, so an operator
 * with access to the database can always recover — e.g. reset a lost admin password — without a
 * running server or a token. They act as the trusted operator: no permission checks apply.
 */
export async function withAuthService<T>(command: Command, work: (auth: AuthService, store: Store) => Promise<T>): Promise<T> {
  const config = configFor(command);
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    // The operator's user and token changes go on the audit chain, as they do through the API.
    const cases = new CasesService({ store });
    const onEvent = (event: Parameters<typeof auditEventFromAuth>[0]) => cases.recordAudit(auditEventFromAuth(event));
    return await work(createAuthService({ store, policy: authPolicyFromConfig(config.auth), onEvent }), store);
  } finally {
    await store.close();
  }
}

/** `--role a,b --role c` → ['a','b','c'], each checked so a typo is a usage error (exit 2). */
export function collectRoles(value: string, previous: string[] = []): string[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const role of roles) if (!isRole(role)) throw usageError(`--role ${JSON.stringify(role)} is not a role; roles are ${ROLES.join(', ')}`);
  return [...previous, ...roles];
}

export function collectScopes(value: string, previous: string[] = []): string[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const scope of scopes) {
    if (!isPermission(scope)) throw usageError(`--scope ${JSON.stringify(scope)} is not a permission; permissions are ${PERMISSIONS.join(', ')}`);
  }
  return [...previous, ...scopes];
}

export function parseExpiry(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw usageError(`--expires ${JSON.stringify(value)} is not a duration such as 30d, 12h or 90m`);
  return ms;
}

/** Reads a secret from standard input: everything up to EOF, without the final line break. */
export async function readSecretFromStdin(flag: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`reading ${flag.replace(/^--/, '').replace(/-stdin$/, '')} from standard input; end with Ctrl-D\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (text === '') throw usageError(`${flag} was given but standard input was empty`);
  return text;
}

export function isoOrDash(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
