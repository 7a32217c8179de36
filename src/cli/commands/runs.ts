import type { Command } from 'commander';
import { createEngine } from '../../app/index.ts';
import { usageError } from '../../core/index.ts';
import { type Engine, runJson } from '../../engine/index.ts';
import { openStore, type Store } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';
import { parsePositiveInt } from '../parse.ts';

/** `riposte runs list|show|cancel|resume|decide`: run history and control. The runner (serve) does the work. */
export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list, inspect and control playbook runs');

  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--status <status>', 'only runs in this status (queued, running, waiting, succeeded, failed, cancelled)')
    .option('--playbook <id>', 'only runs of this playbook')
    .option('--limit <n>', 'how many (default 20)', parsePositiveInt)
    .option('--json', 'print as JSON')
    .action(async (options: { status?: string; playbook?: string; limit?: number; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      await withEngine(command, async (engine) => {
        const rows = await engine.listRuns({
          ...(options.status ? { status: [options.status] } : {}),
          ...(options.playbook ? { playbookId: options.playbook } : {}),
          limit: options.limit ?? 20,
        });
        out.data(rows.map(runJson), () =>
          formatTable(
            ['run', 'playbook', 'status', 'created', 'finished'],
            rows.map((r) => [
              r.id,
              `${r.playbookId} v${r.playbookVersion}`,
              r.status,
              new Date(r.createdAt).toISOString(),
              r.finishedAt ? new Date(r.finishedAt).toISOString() : '',
            ]),
          ),
        );
      });
    });

  runs
    .command('show')
    .description('one run with its inputs, outputs and per-step history')
    .argument('<run>', 'run id')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      await withEngine(command, async (engine) => {
        const run = await engine.getRun(id, { history: true });
        out.data(runJson(run), () =>
          [
            `run ${run.id}: ${run.playbookId} v${run.playbookVersion} ${run.status}${run.mode === 'dry_run' ? ' (dry-run)' : ''}`,
            `inputs: ${JSON.stringify(run.inputs)}`,
            run.status === 'succeeded' ? `output: ${JSON.stringify(run.output)}` : '',
            run.error ? `error: ${JSON.stringify(run.error)}` : '',
            formatTable(
              ['step', 'status', 'attempts', 'output / error'],
              (run.steps ?? []).map((s) => [s.key, s.status, String(s.attempts), truncate(JSON.stringify(s.status === 'failed' ? s.error : s.output) ?? '')]),
            ),
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    });

  for (const [name, description] of [
    ['cancel', 'cancel a run (in-flight actions are aborted; completed steps stay done)'],
    ['resume', 'continue a failed run: failed steps are tried again, completed ones are not'],
  ] as const) {
    runs
      .command(name)
      .description(description)
      .argument('<run>', 'run id')
      .option('--json', 'print the run as JSON')
      .action(async (id: string, options: { json?: boolean }, command: Command) => {
        const out = createOutput(Boolean(options.json));
        await withEngine(command, async (engine) => {
          const run = name === 'cancel' ? await engine.cancel(id, 'cli') : await engine.resume(id, 'cli');
          out.data(runJson(run), () => `run ${run.id}: ${run.status}`);
        });
      });
  }

  runs
    .command('decide')
    .description('approve or reject a run waiting on an approval step')
    .argument('<run>', 'run id')
    .argument('<step>', 'the approval step (its key, e.g. approve_block or each[2].approve)')
    .option('--approve', 'approve')
    .option('--reject', 'reject')
    .requiredOption('--actor <name>', 'who decides (recorded in the run history)')
    .option('--comment <text>', 'why')
    .option('--json', 'print the run as JSON')
    .action(
      async (id: string, step: string, options: { approve?: boolean; reject?: boolean; actor: string; comment?: string; json?: boolean }, command: Command) => {
        if (Boolean(options.approve) === Boolean(options.reject)) throw usageError('give exactly one of --approve or --reject');
        const out = createOutput(Boolean(options.json));
        await withEngine(command, async (engine) => {
          const run = await engine.decide(id, step, {
            decision: options.approve ? 'approve' : 'reject',
            actor: options.actor,
            ...(options.comment ? { comment: options.comment } : {}),
          });
          out.data(runJson(run), () => `run ${run.id}: ${options.approve ? 'approved' : 'rejected'} ${step}; the runner continues it`);
        });
      },
    );
}

async function withEngine(command: Command, work: (engine: Engine, store: Store) => Promise<void>): Promise<void> {
  const config = configFor(command);
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  try {
    const { engine } = createEngine(store, config);
    await work(engine, store);
  } finally {
    await store.close();
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
