import type { Command } from 'commander';
import type { TokenView } from '../../auth/index.ts';
import { collectScopes, isoOrDash, isoOrNull, parseExpiry, withAuthService } from '../auth-context.ts';
import { createOutput, formatTable } from '../output.ts';

function tokenData(token: TokenView) {
  return {
    id: token.id,
    name: token.name,
    user: token.userName,
    scopes: token.scopes,
    status: token.status,
    created_at: isoOrNull(token.createdAt),
    expires_at: isoOrNull(token.expiresAt),
    revoked_at: isoOrNull(token.revokedAt),
    last_used_at: isoOrNull(token.lastUsedAt),
  };
}

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('manage API tokens (works on the database directly)');

  tokens
    .command('create')
    .description('create an API token for a user and print it once (use it as "Authorization: Bearer <token>")')
    .requiredOption('--user <name>', 'owner of the token')
    .option('--scope <permissions>', 'permissions, repeatable or comma-separated (default: all of the owner’s)', collectScopes)
    .option('--expires <duration>', 'lifetime such as 30d, 12h (default: does not expire)', parseExpiry)
    .option('--name <label>', 'a label to recognise it by, e.g. splunk-forwarder', 'api token')
    .option('--json', 'print {"token": …, …} as JSON')
    .action(async (options: { user: string; scope?: string[]; expires?: number; name: string; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const { token, view } = await withAuthService(command, (auth) =>
        auth.createToken({ userName: options.user, name: options.name, scopes: options.scope, expiresInMs: options.expires }),
      );
      // Human mode prints the token alone on stdout so `TOKEN=$(riposte tokens create …)` works too.
      out.data({ token, ...tokenData(view) }, () => token);
      if (!out.json) {
        out.note(
          `API token ${view.id} for ${view.userName}; scopes ${view.scopes.join(', ')}; ${
            view.expiresAt === null ? 'does not expire' : `expires ${isoOrDash(view.expiresAt)}`
          }. Store it now: it is not shown again.`,
        );
      }
    });

  tokens
    .command('list')
    .description('list API tokens (never the tokens themselves)')
    .option('--user <name>', 'only this user’s tokens')
    .option('--json', 'print as JSON')
    .action(async (options: { user?: string; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const list = await withAuthService(command, (auth) => auth.listTokens(options.user === undefined ? { all: true } : { userName: options.user }));
      out.data(list.map(tokenData), () =>
        list.length === 0
          ? 'no API tokens'
          : formatTable(
              ['id', 'user', 'name', 'status', 'expires', 'last used', 'scopes'],
              list.map((t) => [t.id, t.userName, t.name, t.status, isoOrDash(t.expiresAt), isoOrDash(t.lastUsedAt), t.scopes.join(',')]),
            ),
      );
    });

  tokens
    .command('revoke')
    .description('revoke an API token at once (by the id shown by `tokens list`)')
    .argument('<id>', 'token id')
    .option('--json', 'print the token as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const token = await withAuthService(command, (auth) => auth.revokeToken(id));
      createOutput(Boolean(options.json)).data(tokenData(token), () => `revoked API token ${token.id} (${token.name}) of ${token.userName}`);
    });
}
