import type { Command } from 'commander';
import { generatePassword, ROLES, type UserView } from '../../auth/index.ts';
import { usageError } from '../../core/index.ts';
import { collectRoles, isoOrDash, isoOrNull, readSecretFromStdin, withAuthService } from '../auth-context.ts';
import { createOutput, formatTable } from '../output.ts';

function userData(user: UserView) {
  return {
    id: user.id,
    name: user.name,
    roles: user.roles,
    disabled: user.disabled,
    locked_until: isoOrNull(user.lockedUntil),
    failed_logins: user.failedLogins,
    last_login_at: isoOrNull(user.lastLoginAt),
    created_at: isoOrNull(user.createdAt),
    has_password: user.hasPassword,
  };
}

function state(user: UserView): string {
  if (user.disabled) return 'disabled';
  if (user.lockedUntil !== null) return `locked until ${new Date(user.lockedUntil).toISOString()}`;
  return 'active';
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description('manage local user accounts (works on the database directly)');

  users
    .command('add')
    .description('create a user; prints a generated one-time password unless --password-stdin or --no-password')
    .argument('<name>', 'user name (letters, digits and . _ @ -)')
    .requiredOption('--role <role>', `role, repeatable or comma-separated (${ROLES.join(', ')})`, collectRoles)
    .option('--password-stdin', 'read the password from standard input')
    .option('--no-password', 'no password: the account can only use API tokens (service accounts)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { role: string[]; passwordStdin?: boolean; password: boolean; json?: boolean }, command: Command) => {
      if (options.passwordStdin && !options.password) throw usageError('--password-stdin and --no-password cannot be used together');
      const out = createOutput(Boolean(options.json));
      const generated = !options.passwordStdin && options.password;
      const password = options.passwordStdin ? await readSecretFromStdin('--password-stdin') : generated ? generatePassword() : null;
      const user = await withAuthService(command, (auth) => auth.createUser({ name, roles: options.role, password }));
      out.data({ ...userData(user), ...(generated ? { password } : {}) }, () => {
        const head = `created user ${user.name} (${user.roles.join(', ')})`;
        if (generated) return `${head}\npassword (shown once): ${password}`;
        return user.hasPassword ? head : `${head}; no password: it can only use API tokens (riposte tokens create --user ${user.name})`;
      });
    });

  users
    .command('list')
    .description('list users with their roles and state')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const list = await withAuthService(command, (auth) => auth.listUsers());
      out.data(list.map(userData), () =>
        list.length === 0
          ? 'no users yet (the server creates admin on first start)'
          : formatTable(
              ['name', 'roles', 'state', 'last sign-in', 'password'],
              list.map((u) => [u.name, u.roles.join(','), state(u), isoOrDash(u.lastLoginAt), u.hasPassword ? 'yes' : 'no']),
            ),
      );
    });

  const change = (verb: string, description: string, changes: { disabled?: boolean; unlock?: boolean }, done: string) =>
    users
      .command(verb)
      .description(description)
      .argument('<name>', 'user name')
      .option('--json', 'print the user as JSON')
      .action(async (name: string, options: { json?: boolean }, command: Command) => {
        const user = await withAuthService(command, (auth) => auth.updateUser(name, changes));
        createOutput(Boolean(options.json)).data(userData(user), () => `${user.name}: ${done}`);
      });
  change('disable', 'disable a user: sign-in refused, sessions ended, API tokens stop working', { disabled: true }, 'disabled');
  change('enable', 'enable a disabled user again (also lifts a lockout)', { disabled: false }, 'enabled');
  change('unlock', 'lift a lockout after repeated failed sign-ins', { unlock: true }, 'unlocked');

  users
    .command('set-roles')
    .description('replace a user’s roles')
    .argument('<name>', 'user name')
    .requiredOption('--role <role>', `role, repeatable or comma-separated (${ROLES.join(', ')})`, collectRoles)
    .option('--json', 'print the user as JSON')
    .action(async (name: string, options: { role: string[]; json?: boolean }, command: Command) => {
      const user = await withAuthService(command, (auth) => auth.updateUser(name, { roles: options.role }));
      createOutput(Boolean(options.json)).data(userData(user), () => `${user.name}: roles ${user.roles.join(', ')}`);
    });

  users
    .command('passwd')
    .description('set a user’s password (generated and printed once unless --password-stdin); ends their sessions')
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the new password from standard input')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { passwordStdin?: boolean; json?: boolean }, command: Command) => {
      const password = options.passwordStdin ? await readSecretFromStdin('--password-stdin') : generatePassword();
      const user = await withAuthService(command, (auth) => auth.updateUser(name, { password, unlock: true }));
      const shown = options.passwordStdin ? {} : { password };
      createOutput(Boolean(options.json)).data({ ...userData(user), ...shown }, () =>
        options.passwordStdin ? `${user.name}: password changed` : `${user.name}: new password (shown once): ${password}`,
      );
    });
}
