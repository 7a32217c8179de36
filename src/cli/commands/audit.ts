import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { CasesService } from '../../cases/index.ts';
import { usageError } from '../../core/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput } from '../output.ts';

async function withCases<T>(command: Command, work: (cases: CasesService) => Promise<T>): Promise<T> {
  const config = configFor(command);
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    return await work(new CasesService({ store }));
  } finally {
    await store.close();
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('verify and export the tamper-evident audit chain');

  audit
    .command('verify')
    .description('recompute every hash of the audit chain; exits 1 and names the first broken record')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const result = await withCases(command, (cases) => cases.verifyAudit());
      out.data(result, () =>
        result.ok
          ? `audit chain intact: ${result.records} records${result.head ? `, head seq ${result.head.seq} hash ${result.head.hash}` : ''}`
          : `audit chain BROKEN at record ${result.broken?.seq}: ${result.broken?.reason} (${result.records} records verified before it)`,
      );
      if (!result.ok) process.exitCode = 1;
    });

  audit
    .command('export')
    .description('write the audit chain as JSON Lines (one record per line, in chain order)')
    .option('--since <time>', 'only records from this ISO 8601 time on (e.g. 2026-11-01T00:00:00Z)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (options: { since?: string; output?: string }, command: Command) => {
      let since: number | undefined;
      if (options.since !== undefined) {
        since = Date.parse(options.since);
        if (Number.isNaN(since)) throw usageError(`--since ${JSON.stringify(options.since)} is not an ISO 8601 time such as 2026-11-01T00:00:00Z`);
      }
      const sink = options.output ? createWriteStream(options.output) : process.stdout;
      const count = await withCases(command, async (cases) => {
        let n = 0;
        for await (const record of cases.exportAudit({ since })) {
          if (!sink.write(`${JSON.stringify(record)}\n`)) await once(sink, 'drain');
          n++;
        }
        return n;
      });
      if (options.output) {
        (sink as ReturnType<typeof createWriteStream>).end();
        await once(sink, 'finish');
        process.stderr.write(`riposte: exported ${count} audit records to ${options.output}\n`);
      }
    });
}
