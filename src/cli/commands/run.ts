import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { buildCasesService, createEngine, Guardrails, integrationInstanceService, masterKeyFor, registeredActions } from '../../app/index.ts';
import { createLogger, usageError } from '../../core/index.ts';
import { formatIssues, loadPlaybookDirectory, loadPlaybookFile, type Playbook, type RunnerEvent, runJson } from '../../engine/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput } from '../output.ts';

/**
 * `riposte run PLAYBOOK --input FILE [--dry-run]`: runs a playbook in the foreground with live step
 * progress on stderr. A dry-run uses a throw-away store, executes read actions and only describes what
 * write and destructive actions would do.
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a playbook in the foreground (live step progress on stderr)')
    .argument('<playbook>', 'playbook file, or the id of a playbook in the playbooks folder')
    .option('--input <file>', 'YAML or JSON file with the run inputs')
    .option('--dry-run', 'execute read actions, simulate write/destructive ones and list the side effects they would cause')
    .option('--timeout <seconds>', 'stop waiting after this long (the run itself continues durably)', '600')
    .option('--json', 'print the finished run as JSON')
    .action(async (target: string, options: { input?: string; dryRun?: boolean; timeout: string; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const actions = registeredActions(config);
      const directory = loadPlaybookDirectory(config.engine.playbooks_dir, actions);
      const playbook = resolvePlaybook(target, directory, actions);
      const inputs = options.input ? readInputs(options.input) : {};
      const timeoutSeconds = Number(options.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw usageError('--timeout must be a number of seconds');

      const store = options.dryRun
        ? await openStore({ sqliteFile: ':memory:' })
        : await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
      const only = new Set<string>();
      // The same guardrails as the server: a foreground run never skips policy before a risky action.
      const logger = createLogger({ level: config.log.level });
      const cases = buildCasesService(store, config, logger);
      // Configured instances: their actions run here, and the CMDB instance informs policy.
      const instances = await integrationInstanceService({ store, config, masterKey: () => masterKeyFor(config, logger) }).load();
      const guardrails = await Guardrails.create({ store, config, cases, logger, integrations: instances });
      const { engine } = createEngine(store, config, {
        runner: { only, exclusive: false, pollMs: 50 },
        guard: guardrails.guard,
        integrations: instances,
        cases,
      });
      guardrails.attach(engine);
      const effects: unknown[] = [];
      const started = Date.now();
      engine.onEvent((event) => {
        if (event.type === 'effect') effects.push(event.detail);
        out.note(progressLine(event, started));
      });
      await engine.start();
      try {
        const runId = await engine.startRun(playbook, inputs, { mode: options.dryRun ? 'dry_run' : 'live', startedBy: 'cli' });
        only.add(runId);
        engine.runner.poke();
        out.note(`run ${runId}: ${playbook.id} v${playbook.version}${options.dryRun ? ' (dry-run)' : ''}`);
        const run = await engine.waitForRun(runId, timeoutSeconds * 1000, { untilWaiting: true });
        const view = await engine.getRun(runId, { history: true });
        out.data({ ...runJson(view), ...(options.dryRun ? { side_effects: effects } : {}) }, () => {
          const lines = [`status: ${run.status}`];
          if (run.status === 'succeeded') lines.push(`output: ${JSON.stringify(run.output, null, 2)}`);
          if (run.status === 'failed') lines.push(`error: ${JSON.stringify(run.error)}`);
          if (run.status === 'waiting') {
            for (const wait of view.waits?.filter((w) => w.status === 'open') ?? []) {
              const policyApproval = (wait.request as { approval_id?: unknown } | null)?.approval_id;
              lines.push(
                typeof policyApproval === 'string'
                  ? `${wait.stepKey} is held by policy for approval ${policyApproval}: approvers decide at /api/v1/approvals/${policyApproval}`
                  : wait.kind === 'approval'
                    ? `waiting for approval of ${wait.stepKey}: riposte runs decide ${runId} ${wait.stepKey} --approve|--reject --actor NAME`
                    : `waiting on ${wait.kind} ${wait.eventName ?? wait.stepKey}; \`riposte serve\` continues it`,
              );
            }
          }
          if (options.dryRun) {
            lines.push(effects.length === 0 ? 'side effects: none' : 'side effects it would cause:');
            for (const effect of effects as Array<{ action: string; impact: string; effect: string }>)
              lines.push(`  - [${effect.impact}] ${effect.action}: ${effect.effect}`);
          }
          return lines.join('\n');
        });
        if (run.status === 'failed' || run.status === 'cancelled') process.exitCode = 1;
      } finally {
        await engine.stop();
        await cases.drain();
        await store.close();
      }
    });
}

function resolvePlaybook(target: string, directory: ReturnType<typeof loadPlaybookDirectory>, actions: ReturnType<typeof registeredActions>): Playbook {
  if (existsSync(target)) {
    const loaded = loadPlaybookFile(target, { actions, playbooks: directory });
    if (!loaded.playbook) throw usageError(`playbook ${target} is invalid:\n${formatIssues(target, loaded.issues)}`);
    return loaded.playbook;
  }
  const found = directory.find(target);
  if (found?.playbook) return found.playbook;
  if (found) throw usageError(`playbook ${target} is invalid:\n${formatIssues(found.file, found.issues)}`);
  throw usageError(`no playbook file or id ${JSON.stringify(target)} (looked in ${directory.dir})`);
}

function readInputs(file: string): unknown {
  if (!existsSync(file)) throw usageError(`--input: no such file ${file}`);
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    throw usageError(`--input ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}

function progressLine(event: RunnerEvent, started: number): string {
  const at = `${((Date.now() - started) / 1000).toFixed(2)}s`;
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  if (event.type === 'effect') return `${at}  ~ ${event.key}: would ${String(detail.effect)} [${String(detail.impact)}]`;
  if (event.type === 'run') return `${at}  run ${event.status}`;
  switch (event.status) {
    case 'started':
      return `${at}  ▶ ${event.key} (${String(detail.action)}${Number(detail.attempt) > 1 ? `, attempt ${detail.attempt}` : ''})`;
    case 'completed':
      return `${at}  ✓ ${event.key}`;
    case 'failed':
      return `${at}  ✗ ${event.key}: ${String((detail.error as { message?: string } | undefined)?.message ?? '')}`;
    case 'retrying':
      return `${at}  ↻ ${event.key}: ${String((detail.error as { message?: string } | undefined)?.message ?? '')} (retry at ${new Date(Number(detail.retry_at)).toISOString()})`;
    case 'waiting':
      return `${at}  … ${event.key} waiting (${String(detail.kind)})`;
    default:
      return `${at}  ${event.status} ${event.key ?? ''}`;
  }
}
