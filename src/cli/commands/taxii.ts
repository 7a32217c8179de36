import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { caseStixBundle } from '../../app/intel.ts';
import { CasesService } from '../../cases/index.ts';
import { type Config, usageError } from '../../core/index.ts';
import { createGuardedHttpClient } from '../../integrations/sdk/http/index.ts';
import { IndicatorStore, loadAttackCatalog, type TaxiiAuth, TaxiiClient, TaxiiFeeds } from '../../intel/index.ts';
import { openStore, type Store } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { cliStreams, createOutput } from '../output.ts';

/**
 * `riposte taxii …`: talk to TAXII 2.1 servers from the shell (list collections, push a bundle), pull a
 * configured feed now, and export a case as a STIX bundle. Credentials come from environment variables
 * named on the command line, never from the command line itself (it shows up in `ps` and shell history).
 */
interface RemoteOptions {
  user?: string;
  passwordEnv?: string;
  tokenEnv?: string;
  allowPrivate?: boolean;
}

function authFrom(options: RemoteOptions): TaxiiAuth | undefined {
  const read = (name: string) => {
    const value = process.env[name];
    if (value === undefined || value === '') throw usageError(`environment variable ${name} is not set`);
    return value;
  };
  if (options.tokenEnv) return { type: 'bearer', token: read(options.tokenEnv) };
  if (options.user) {
    if (!options.passwordEnv) throw usageError('--user needs --password-env <VAR> naming the variable that holds the password or API token');
    return { type: 'basic', user: options.user, password: read(options.passwordEnv) };
  }
  return undefined;
}

function clientFor(config: Config, options: RemoteOptions, url: string): TaxiiClient {
  const allow = [...config.integrations.http_allow];
  if (options.allowPrivate) allow.push(new URL(url).hostname);
  const http = createGuardedHttpClient({ allow, timeoutMs: config.integrations.timeout });
  const auth = authFrom(options);
  return new TaxiiClient({ http, ...(auth ? { auth } : {}) });
}

async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const remoteFlags = (command: Command) =>
  command
    .option('--user <name>', 'HTTP Basic user name (the password comes from --password-env)')
    .option('--password-env <VAR>', 'environment variable holding the Basic password or API token')
    .option('--token-env <VAR>', 'environment variable holding a bearer token')
    .option('--allow-private', "allow this URL's host although it is a private or loopback address");

export function registerTaxii(program: Command): void {
  const taxii = program.command('taxii').description('TAXII 2.1: list remote collections, push bundles, pull feeds, export cases as STIX');

  remoteFlags(
    taxii
      .command('collections')
      .description('list the collections of a TAXII 2.1 API root')
      .argument('<api-root-url>', 'API root URL, e.g. https://intel.example/taxii2/feeds/')
      .option('--json', 'print as JSON'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  TAXII_TOKEN=rpt_… riposte taxii collections https://soar.example/taxii2/default/ --user alice --password-env TAXII_TOKEN\n',
    )
    .action(async (url: string, options: RemoteOptions & { json?: boolean }, command: Command) => {
      const collections = await clientFor(configFor(command), options, url).collections(url);
      createOutput(Boolean(options.json)).data(collections, () =>
        collections.map((c) => `${c.id}  ${c.can_read ? 'r' : '-'}${c.can_write ? 'w' : '-'}  ${c.title}${c.alias ? ` (${c.alias})` : ''}`).join('\n'),
      );
    });

  remoteFlags(
    taxii
      .command('push')
      .description('add the objects of a STIX bundle (file or - for stdin) to a TAXII collection; prints the status')
      .argument('<api-root-url>', 'API root URL')
      .argument('<collection>', 'collection id')
      .argument('<bundle>', 'STIX bundle JSON file, or - for stdin')
      .option('--json', 'print the status resource as JSON'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  riposte taxii export-case 42 | riposte taxii push https://partner.example/taxii2/share/ 9f1c… - --token-env PARTNER_TOKEN\n',
    )
    .action(async (url: string, collection: string, file: string, options: RemoteOptions & { json?: boolean }, command: Command) => {
      let bundle: { objects?: unknown };
      try {
        bundle = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (error) {
        throw usageError(`cannot read a STIX bundle from ${file}: ${(error as Error).message}`);
      }
      if (!Array.isArray(bundle.objects)) throw usageError(`${file} is not a STIX bundle (no "objects" list)`);
      const status = await clientFor(configFor(command), options, url).addObjects(url, collection, bundle.objects as Array<Record<string, unknown>>);
      createOutput(Boolean(options.json)).data(
        status,
        () => `status ${status.id}: ${status.status}, ${status.success_count} added, ${status.failure_count} failed`,
      );
      if (status.failure_count > 0) process.exitCode = 1;
    });

  taxii
    .command('pull')
    .description('pull one feed from intel.feeds now, resuming from its saved added_after (works on the database directly)')
    .argument('<feed>', 'feed name')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  riposte taxii pull abuse-ch\n')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const config = configFor(command);
      const result = await withStore(config, async (store) => {
        const feeds = new TaxiiFeeds({
          feeds: config.intel.feeds,
          store,
          indicators: new IndicatorStore({ store }),
          http: createGuardedHttpClient({ allow: config.integrations.http_allow, timeoutMs: config.integrations.timeout }),
        });
        return feeds.pull(name);
      });
      createOutput(Boolean(options.json)).data(
        result,
        () =>
          `feed ${result.feed}: ${result.received} objects in ${result.pages} pages, ${result.added} new, ${result.indexed} indicators indexed; next added_after ${result.addedAfter ?? '(none)'}`,
      );
    });

  taxii
    .command('export-case')
    .description('write a case as a STIX 2.1 bundle to stdout (works on the database directly)')
    .argument('<case>', 'case id or number')
    .addHelpText('after', '\nExample:\n  riposte taxii export-case 42 > case-42.stix.json\n')
    .action(async (ref: string, _options: unknown, command: Command) => {
      const config = configFor(command);
      const bundle = await withStore(config, (store) => {
        const catalog = loadAttackCatalog();
        return caseStixBundle(new CasesService({ store, techniqueExists: catalog.techniqueExists }), catalog, ref);
      });
      cliStreams().stdout.write(`${JSON.stringify(bundle, null, 2)}\n`);
    });
}
