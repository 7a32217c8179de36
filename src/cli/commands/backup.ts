import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import type { Command } from 'commander';
import { CasesService } from '../../cases/index.ts';
import { describeError, RiposteError } from '../../core/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput } from '../output.ts';

/**
 * `riposte backup FILE` and `riposte restore FILE`: a consistent online snapshot of either backend in one
 * portable, gzipped JSON Lines format (src/store/snapshot.ts), restorable into either backend.
 */
export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('write a consistent snapshot of the database to FILE (gzipped JSON lines; safe while Riposte runs)')
    .argument('<file>', 'where to write the backup (written to FILE.partial, then renamed)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  riposte backup /var/backups/riposte-2026-11-28.rbk.gz\n  RIPOSTE_DATABASE_URL=postgres://… riposte backup pg.rbk.gz')
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
      const partial = `${file}.partial`;
      const started = Date.now();
      try {
        const gzip = createGzip();
        const sink = createWriteStream(partial, { mode: 0o600 });
        gzip.pipe(sink);
        let lines = 0;
        const counts = await store.backup(async (line) => {
          if (!gzip.write(`${JSON.stringify(line)}\n`)) await once(gzip, 'drain');
          lines++;
          if (lines % 100_000 === 0) out.note(`backup: ${lines.toLocaleString('en')} lines written`);
        });
        gzip.end();
        await once(sink, 'finish');
        const handle = await open(partial, 'r');
        await handle.sync();
        await handle.close();
        await rename(partial, file);
        const rows = Object.values(counts).reduce((a, b) => a + b, 0);
        out.data(
          { file, backend: store.backend, tables: Object.keys(counts).length, rows, counts, ms: Date.now() - started },
          () => `backed up ${store.location} to ${file}: ${Object.keys(counts).length} tables, ${rows.toLocaleString('en')} rows in ${Date.now() - started} ms`,
        );
      } catch (error) {
        await rm(partial, { force: true });
        throw error instanceof RiposteError ? error : new RiposteError('backup.failed', `backup to ${file} failed: ${describeError(error)}`, { cause: error });
      } finally {
        await store.close();
      }
    });

  program
    .command('restore')
    .description('restore a backup into an empty database (a new SQLite data dir or an empty PostgreSQL schema), then migrate and verify the audit chain')
    .argument('<file>', 'a file written by `riposte backup`')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  riposte --data-dir /srv/riposte-restored restore riposte.rbk.gz\n  RIPOSTE_DATABASE_URL=postgres://… riposte restore riposte.rbk.gz   # move an embedded install to PostgreSQL',
    )
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir, migrate: false });
      const started = Date.now();
      try {
        const lines = await readBackupLines(file);
        const { header, rows } = await store.restore(lines);
        const upgraded = await store.migrate();
        const audit = await new CasesService({ store }).verifyAudit();
        const total = Object.values(rows).reduce((a, b) => a + b, 0);
        out.data(
          {
            file,
            from_backend: header.backend,
            taken_at: header.created_at,
            backend: store.backend,
            rows: total,
            counts: rows,
            migrated: upgraded,
            audit_ok: audit.ok,
            ms: Date.now() - started,
          },
          () =>
            `restored ${total.toLocaleString('en')} rows from ${file} (${header.backend} backup of ${header.created_at}) into ${store.location}` +
            (upgraded.length > 0 ? `; applied newer migrations ${upgraded.join(', ')}` : '') +
            `; audit chain ${audit.ok ? `intact (${audit.records} records)` : `BROKEN at record ${audit.broken?.seq}`}`,
        );
        if (!audit.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

/** The backup's lines, parsed; a gzipped or plain file both work, and a damaged line names its number. */
async function readBackupLines(file: string): Promise<AsyncIterable<unknown>> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new RiposteError('backup.unreadable', `cannot read backup ${file}: ${describeError(error)}`, { cause: error });
  });
  const magic = Buffer.alloc(2);
  await handle.read(magic, 0, 2, 0);
  await handle.close();
  const raw = createReadStream(file);
  const stream = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  return (async function* () {
    let number = 0;
    try {
      for await (const text of reader) {
        number++;
        if (text.trim() === '') continue;
        try {
          yield JSON.parse(text) as unknown;
        } catch {
          throw new RiposteError('backup.invalid', `backup ${file} line ${number} is not JSON; the file is damaged and nothing was restored`);
        }
      }
    } catch (error) {
      if (error instanceof RiposteError) throw error;
      throw new RiposteError('backup.invalid', `backup ${file} cannot be read past line ${number}: ${describeError(error)}`, { cause: error });
    }
  })();
}
