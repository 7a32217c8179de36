import type { Command } from 'commander';
import { integrationInstanceService, masterKeyFor } from '../../app/index.ts';
import { createLogger, usageError } from '../../core/index.ts';
import { INTEGRATIONS } from '../../integrations/catalog.ts';
import { openStore } from '../../store/index.ts';
import { readSecretFromStdin } from '../auth-context.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

/** `riposte integrations list|products|add|remove|test`: integration instances on the database directly. */
async function withInstances<T>(command: Command, work: (service: ReturnType<typeof integrationInstanceService>) => Promise<T>): Promise<T> {
  const config = configFor(command);
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    const logger = createLogger({ level: config.log.level });
    let key: ReturnType<typeof masterKeyFor> | undefined;
    return await work(integrationInstanceService({ store, config, masterKey: () => (key ??= masterKeyFor(config, logger)) }));
  } finally {
    await store.close();
  }
}

function collectPairs(flag: string) {
  return (value: string, previous: Array<[string, string]> = []): Array<[string, string]> => {
    const at = value.indexOf('=');
    if (at <= 0) throw usageError(`${flag} expects name=value, got ${JSON.stringify(value)}`);
    return [...previous, [value.slice(0, at), value.slice(at + 1)]];
  };
}

/** `--set maxAgeInDays=30` → a number; `true`/`false` → booleans; anything else stays text. */
function configValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

export function registerIntegrations(program: Command): void {
  const integrations = program.command('integrations').description('configure integration instances (works on the database directly)');

  integrations
    .command('products')
    .description('list the products Riposte has connectors for, with their secrets and actions')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) => {
      const data = INTEGRATIONS.map((i) => ({ id: i.id, title: i.title, secrets: Object.keys(i.secrets), actions: Object.keys(i.actions) }));
      createOutput(Boolean(options.json)).data(data, () =>
        formatTable(
          ['product', 'title', 'secrets', 'actions'],
          data.map((d) => [d.id, d.title, d.secrets.join(','), d.actions.join(',')]),
        ),
      );
    });

  integrations
    .command('list')
    .description('list configured instances (secret values are never shown, only whether they are set)')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await withInstances(command, (service) => service.list());
      createOutput(Boolean(options.json)).data(list, () =>
        list.length === 0
          ? 'no integration instances yet (riposte integrations add <name> --product <id>)'
          : formatTable(
              ['name', 'product', 'base URL', 'secrets', 'actions'],
              list.map((i) => [
                i.name,
                i.integration,
                String(i.config.baseUrl ?? '(default)'),
                i.secrets.map((s) => `${s.name}${s.set ? '' : ' (missing)'}`).join(','),
                i.actions.length.toString(),
              ]),
            ),
      );
    });

  integrations
    .command('add')
    .description('create or update an instance; its actions are registered as <name>.<action> at the next start')
    .argument('<name>', 'instance name, snake_case (e.g. virustotal, misp_eu)')
    .requiredOption('--product <id>', `product (${INTEGRATIONS.map((i) => i.id).join(', ')})`)
    .option('--base-url <url>', 'API base URL (default: the vendor’s public API)')
    .option('--set <key=value>', 'other config value, repeatable', collectPairs('--set'))
    .option('--secret-env <name=VAR>', 'take secret <name> from environment variable VAR, repeatable', collectPairs('--secret-env'))
    .option('--secret-stdin <name>', 'read secret <name> from standard input')
    .option('--json', 'print the instance as JSON')
    .action(
      async (
        name: string,
        options: {
          product: string;
          baseUrl?: string;
          set?: Array<[string, string]>;
          secretEnv?: Array<[string, string]>;
          secretStdin?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const config: Record<string, unknown> = Object.fromEntries((options.set ?? []).map(([k, v]) => [k, configValue(v)]));
        if (options.baseUrl) config.baseUrl = options.baseUrl;
        const secrets: Record<string, string> = {};
        for (const [secret, variable] of options.secretEnv ?? []) {
          const value = process.env[variable];
          if (!value) throw usageError(`--secret-env ${secret}=${variable}: environment variable ${variable} is not set`);
          secrets[secret] = value;
        }
        if (options.secretStdin) secrets[options.secretStdin] = await readSecretFromStdin('--secret-stdin');
        const added = await withInstances(command, (service) => service.add({ name, integration: options.product, config, secrets }));
        createOutput(Boolean(options.json)).data(added, () => {
          const missing = added.secrets.filter((s) => !s.set).map((s) => s.name);
          return `${added.name}: ${added.title} instance saved; actions ${added.actions.join(', ')}${missing.length ? `\nmissing secrets: ${missing.join(', ')}` : ''}`;
        });
      },
    );

  integrations
    .command('remove')
    .description('delete an instance and its sealed secrets')
    .argument('<name>', 'instance name')
    .action(async (name: string, _options: unknown, command: Command) => {
      const removed = await withInstances(command, (service) => service.remove(name));
      if (!removed) throw usageError(`no integration instance named ${name}`);
      createOutput(false).line(`${name}: removed`);
    });

  integrations
    .command('test')
    .description('call each instance’s health check (a cheap known lookup); exit 1 if any fails')
    .argument('[names...]', 'instance names (default: all)')
    .option('--json', 'print as JSON')
    .action(async (names: string[], options: { json?: boolean }, command: Command) => {
      const results = await withInstances(command, async (service) => {
        const wanted = names.length > 0 ? names : (await service.list()).map((i) => i.name);
        return Promise.all(wanted.map((n) => service.test(n)));
      });
      createOutput(Boolean(options.json)).data(results, () =>
        results.length === 0
          ? 'no integration instances to test'
          : formatTable(
              ['name', 'result', 'ms', 'detail'],
              results.map((r) => [r.name, r.ok ? 'ok' : 'FAILED', String(r.ms), r.ok ? r.action : `${r.code}: ${r.error}`]),
            ),
      );
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
