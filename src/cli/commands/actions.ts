import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { buildCasesService, type ContainedActionView, createEngine, Guardrails, integrationInstanceService, masterKeyFor } from '../../app/index.ts';
import { createLogger, usageError } from '../../core/index.ts';
import { CONTAINED_ACTION_STATUSES, type ContainedActionStatus, openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';
import { parsePositiveInt } from '../parse.ts';

/**
 * `riposte actions list|rollback`: the containment lifecycle from the command line. Every successful
 * action with an inverse (a block, an isolation) is listed with its expiry; `rollback` undoes one through
 * its inverse, which runs as a playbook run in this process and passes policy like any write action.
 */
export function registerActions(program: Command): void {
  const actions = program
    .command('actions')
    .description('containment actions in effect (blocks, isolations) and undoing them through their inverse')
    .addHelpText(
      'after',
      '\nExamples:\n  riposte actions list --status active\n  riposte actions rollback 01J…:block --reason "partner confirmed the address is theirs"\n',
    );

  actions
    .command('list')
    .description('recorded actions with an inverse, newest first')
    .option('--status <status>', `only this status (${CONTAINED_ACTION_STATUSES.join(', ')})`)
    .option('--case <id>', 'only actions taken for this case')
    .option('--limit <n>', 'how many (default 50)', parsePositiveInt)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  riposte actions list\n  riposte actions list --status active --case 01J… --json\n')
    .action(async (options: { status?: string; case?: string; limit?: number; json?: boolean }, command: Command) => {
      if (options.status && !(CONTAINED_ACTION_STATUSES as readonly string[]).includes(options.status)) {
        throw usageError(`--status ${JSON.stringify(options.status)} is not one of ${CONTAINED_ACTION_STATUSES.join(', ')}`);
      }
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
      try {
        const rows = await store.containedActions.list({
          ...(options.status ? { status: options.status as ContainedActionStatus } : {}),
          ...(options.case ? { caseId: options.case } : {}),
          limit: options.limit ?? 50,
        });
        const views = rows.map((r) => ({
          id: r.id,
          action: r.action,
          target: r.target,
          status: r.status,
          expires_at: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
          case_id: r.caseId,
          run_id: r.runId,
          inverse: { action: r.inverseAction, arguments: r.inverseArguments },
          arguments: r.arguments,
          performed_by: r.performedBy,
          reason: r.reason,
        }));
        out.data(views, () =>
          views.length === 0
            ? 'no recorded actions'
            : formatTable(
                ['id', 'action', 'target', 'status', 'expires', 'undo with'],
                views.map((v) => [v.id, v.action, v.target ?? '', v.status, v.expires_at ?? 'never', v.inverse.action]),
              ),
        );
      } finally {
        await store.close();
      }
    });

  actions
    .command('rollback')
    .description('undo an action through its inverse (policy applies: it may be denied or held for approval)')
    .argument('<id>', 'the action id from `riposte actions list`')
    .requiredOption('--reason <text>', 'why it is undone (recorded on the case and the audit chain)')
    .option('--actor <name>', 'who asks (recorded; may not approve the inverse if policy holds it)', `cli:${safeUser()}`)
    .option('--wait <seconds>', 'how long to wait for the inverse to finish (default 30)', parsePositiveInt)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  riposte actions rollback 01J…:block --reason "false positive: CDN address"\n  riposte actions rollback 01J…:block --reason "owner confirmed" --actor alice --json\n\nExit status: 0 undone (or held for approval: the output names the approval), 1 the inverse failed or policy denied it.\n',
    )
    .action(async (id: string, options: { reason: string; actor: string; wait?: number; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const logger = createLogger({ level: config.log.level });
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
      const cases = buildCasesService(store, config, logger);
      try {
        // The inverse may be an integration's action (firewall.unblock_ip): register the configured instances.
        const instances = await integrationInstanceService({ store, config, masterKey: () => masterKeyFor(config, logger) }).load();
        const guardrails = await Guardrails.create({ store, config, cases, logger, integrations: instances });
        const only = new Set<string>();
        const { engine } = createEngine(store, config, {
          logger,
          integrations: instances,
          guard: guardrails.guard,
          runner: { only, exclusive: false, pollMs: 50 },
        });
        guardrails.attach(engine);
        await engine.start();
        try {
          const result = await guardrails.containment.rollback(id, {
            actor: options.actor,
            reason: options.reason,
            waitMs: (options.wait ?? 30) * 1000,
            onStarted: (runId) => {
              only.add(runId);
              engine.runner.poke();
            },
          });
          out.data(result, () => describe(result.action, result));
          if (result.action.status === 'rollback_failed') process.exitCode = 1;
        } finally {
          await engine.stop();
          guardrails.stop();
        }
      } finally {
        await cases.drain();
        await store.close();
      }
    });
}

function describe(
  action: ContainedActionView,
  result: { started: boolean; run: { id: string; status: string } | null; approval_id?: string; error?: unknown },
): string {
  const what = `${action.action} on ${action.target ?? 'no target'} (${action.id})`;
  switch (action.status) {
    case 'rolled_back':
    case 'expired':
      return `undone: ${what} by ${action.inverse.action} in run ${action.rollback?.run_id}`;
    case 'rollback_failed':
      return `not undone: ${what}: ${(result.error as { code?: string; message?: string } | undefined)?.code ?? 'error'}: ${(result.error as { message?: string } | undefined)?.message ?? ''}`;
    default:
      if (result.approval_id)
        return `held by policy: undoing ${what} needs approval ${result.approval_id}; approvers decide at /api/v1/approvals/${result.approval_id} (the server's runner then runs ${action.inverse.action})`;
      return `${result.started ? 'started' : 'already under way'}: undoing ${what} in run ${result.run?.id ?? '?'} (${result.run?.status ?? 'unknown'})`;
  }
}

function safeUser(): string {
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}
