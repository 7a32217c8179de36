import type { Command } from 'commander';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

export function registerDb(program: Command): void {
  const db = program.command('db').description('manage the database (SQLite file or PostgreSQL)');

  db.command('migrate')
    .description('apply pending schema migrations (they also run on every start)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir, migrate: false });
      try {
        const applied = await store.migrate();
        out.data({ backend: store.backend, location: store.location, applied }, () =>
          applied.length === 0 ? `${store.location}: already up to date` : `${store.location}: applied ${applied.join(', ')}`,
        );
      } finally {
        await store.close();
      }
    });

  db.command('status')
    .description('show which migrations are applied')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir, migrate: false });
      try {
        const status = await store.migrationStatus();
        const pending = status.filter((s) => s.appliedAt === undefined).length;
        out.data(
          {
            backend: store.backend,
            location: store.location,
            pending,
            migrations: status.map((s) => ({ name: s.name, applied_at: s.appliedAt === undefined ? null : new Date(s.appliedAt).toISOString() })),
          },
          () =>
            `${store.backend} ${store.location}\n${formatTable(
              ['migration', 'applied'],
              status.map((s) => [s.name, s.appliedAt === undefined ? 'pending' : new Date(s.appliedAt).toISOString()]),
            )}\n${pending === 0 ? 'up to date' : `${pending} pending: run \`riposte db migrate\``}`,
        );
      } finally {
        await store.close();
      }
    });
}
