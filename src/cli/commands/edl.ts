import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { buildCasesService, DEFAULT_EDL_LIST, EDL_TYPES, EdlService, type EdlType } from '../../app/index.ts';
import { type Actor, createLogger, parseDuration, usageError } from '../../core/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

/**
 * `riposte edl list|add|remove`: the External Dynamic Lists Riposte serves to firewalls, managed by hand
 * (an emergency block, or lifting one). Works on the database directly; every change is audited as the
 * operator running the command.
 */
async function withEdl<T>(command: Command, work: (edl: EdlService) => Promise<T>): Promise<T> {
  const config = configFor(command);
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    const cases = buildCasesService(store, config, createLogger({ level: config.log.level }));
    const result = await work(new EdlService({ store, cases, listTypes: config.edl.lists }));
    await cases.drain();
    return result;
  } finally {
    await store.close();
  }
}

function operator(): Actor {
  const name = `cli:${userInfo().username}`;
  return { kind: 'user', id: name, name };
}

export function registerEdl(program: Command): void {
  const edl = program
    .command('edl')
    .description('External Dynamic Lists Riposte serves to firewalls at GET /edl/<list>')
    .addHelpText(
      'after',
      '\nExample:\n  riposte edl add 203.0.113.9 --ttl 12h --reason "C2 seen in case 42"\n  riposte edl add https://login-examp1e.top/verify --type url --ttl 30d\n  riposte edl list riposte-urls\n  riposte edl remove 203.0.113.9',
    );

  edl
    .command('list')
    .description('show a list, expired entries included (they are not served)')
    .argument('[list]', 'list name', DEFAULT_EDL_LIST)
    .option('--json', 'print the entries as JSON')
    .action(async (list: string, options: { json?: boolean }, command: Command) => {
      const entries = await withEdl(command, (service) => service.entries(list));
      const now = Date.now();
      createOutput(Boolean(options.json)).data(entries, () =>
        entries.length === 0
          ? `EDL ${list} is empty`
          : formatTable(
              ['value', 'expires', 'added by', 'case', 'reason'],
              entries.map((e) => [
                e.value,
                e.expires_at === null ? 'never' : `${e.expires_at}${Date.parse(e.expires_at) <= now ? ' (expired)' : ''}`,
                e.added_by,
                e.case_id ?? '-',
                e.reason ?? '',
              ]),
            ),
      );
    });

  edl
    .command('add')
    .description(
      'add a value to a list: an address or CIDR range (ip), a URL (url), a domain (domain) or an e-mail address or sending domain (sender); adding a listed one refreshes its expiry',
    )
    .argument('<value>', 'address, range, URL, domain or sender, per the list type')
    .option('--type <type>', `list type when the list is new: ${EDL_TYPES.join(', ')} (default: guessed from the value)`)
    .option('--list <name>', 'list name (default: the default list of the type, riposte-block for addresses)')
    .option('--ttl <duration>', 'how long it is served: 30m, 24h, 7d, or "never"', '24h')
    .option('--reason <text>', 'why (shown to other operators and on the audit chain)')
    .option('--case <id>', 'case id or number to record the block on')
    .option('--json', 'print the entry as JSON')
    .action(async (value: string, options: { type?: string; list?: string; ttl: string; reason?: string; case?: string; json?: boolean }, command: Command) => {
      const type = edlType(options.type);
      const ttlMs = options.ttl === 'never' ? null : (parseDuration(options.ttl) ?? -1);
      if (ttlMs !== null && ttlMs <= 0) throw usageError('--ttl must be a duration such as 30m, 24h or 7d, or "never"');
      const { entry, created } = await withEdl(command, (service) =>
        service.add(
          {
            value,
            ...(type ? { type } : {}),
            ...(options.list ? { list: options.list } : {}),
            ttlMs,
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.case ? { caseId: options.case } : {}),
          },
          operator(),
        ),
      );
      createOutput(Boolean(options.json)).data(
        { ...entry, created },
        () => `${created ? 'added' : 'refreshed'} ${entry.value} on EDL ${entry.list}${entry.expires_at ? ` until ${entry.expires_at}` : ' (no expiry)'}`,
      );
    });

  edl
    .command('remove')
    .description('stop serving a value (firewalls drop it at their next poll)')
    .argument('<value>', 'address, range, URL, domain or sender')
    .option('--type <type>', `list type: ${EDL_TYPES.join(', ')} (picks the default list of the type)`)
    .option('--list <name>', 'list name (default: the default list of the type, riposte-block for addresses)')
    .option('--reason <text>', 'why')
    .option('--json', 'print the result as JSON')
    .action(async (value: string, options: { type?: string; list?: string; reason?: string; json?: boolean }, command: Command) => {
      const type = edlType(options.type);
      const result = await withEdl(command, (service) =>
        service.remove(
          { value, ...(type ? { type } : {}), ...(options.list ? { list: options.list } : {}), ...(options.reason ? { reason: options.reason } : {}) },
          operator(),
        ),
      );
      createOutput(Boolean(options.json)).data(result, () =>
        result.removed ? `removed ${result.value} from EDL ${result.list}` : `${result.value} was not on EDL ${result.list}`,
      );
      if (!result.removed) process.exitCode = 1;
    });
}

function edlType(text: string | undefined): EdlType | undefined {
  if (text === undefined) return undefined;
  if (!(EDL_TYPES as readonly string[]).includes(text)) throw usageError(`--type must be one of ${EDL_TYPES.join(', ')}`);
  return text as EdlType;
}
