import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RiposteError } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { ActionCatalog } from './actions.ts';
import { Engine } from './engine.ts';
import { deepEqual } from './expressions/values.ts';
import type { PlaybookCatalog } from './playbook-loader.ts';
import type { Playbook } from './playbook-schema.ts';

/**
 * Playbook tests (`name.test.yml` next to `name.yml`): each case gives inputs, mocked action results,
 * approval decisions and events, and the expected outcome, path and outputs. Cases run through the real
 * runner on a throw-away store with every non-core action mocked, so tests are fast, offline and
 * exercise the same code path as production runs.
 */
const MockResult = z.union([
  z.object({ output: z.unknown() }).strict(),
  z.object({ error: z.object({ code: z.string(), message: z.string().default('mocked failure') }).strict() }).strict(),
]);

export const PlaybookTestFile = z
  .object({
    playbook: z.string().optional().meta({ description: 'Playbook file next to this one (default: same name without .test)' }),
    cases: z
      .array(
        z
          .object({
            name: z.string(),
            inputs: z.record(z.string(), z.unknown()).default({}),
            mocks: z.record(z.string(), MockResult).default({}).meta({ description: 'By step id (every iteration) or action id' }),
            approvals: z.record(z.string(), z.enum(['approve', 'reject'])).default({}),
            events: z.record(z.string(), z.unknown()).default({}),
            expect: z
              .object({
                status: z.enum(['succeeded', 'failed']).default('succeeded'),
                path: z.array(z.string()).optional().meta({ description: 'Step ids that ran (completed or failed), in any order' }),
                not_run: z.array(z.string()).optional(),
                output: z.unknown().optional(),
                error_code: z.string().optional(),
              })
              .strict()
              .prefault({}),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export interface PlaybookTestResult {
  file: string;
  case: string;
  passed: boolean;
  failures: string[];
  runId: string | undefined;
}

/** The playbook a test file is about: its `playbook:` field (relative to the test file), else the same name without `.test`. */
export function playbookFileForTest(testFile: string): string {
  let declared: unknown;
  try {
    declared = (parseYaml(readFileSync(testFile, 'utf8')) as { playbook?: unknown } | null)?.playbook;
  } catch {
    declared = undefined;
  }
  return resolve(dirname(testFile), typeof declared === 'string' ? declared : basename(testFile).replace(/\.test\.ya?ml$/i, '.yml'));
}

export async function runPlaybookTests(options: {
  testFile: string;
  playbook: Playbook;
  store: Store;
  actions: ActionCatalog;
  playbooks?: PlaybookCatalog;
}): Promise<PlaybookTestResult[]> {
  let spec: z.output<typeof PlaybookTestFile>;
  try {
    spec = PlaybookTestFile.parse(parseYaml(readFileSync(options.testFile, 'utf8')));
  } catch (error) {
    const detail = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message;
    throw new RiposteError('engine.invalid_test', `playbook test ${options.testFile} is invalid: ${detail}`);
  }
  const results: PlaybookTestResult[] = [];
  for (const testCase of spec.cases) {
    const engine = new Engine({
      store: options.store,
      actions: options.actions,
      ...(options.playbooks ? { playbooks: options.playbooks } : {}),
      runner: { pollMs: 5, exclusive: true },
      intercept: async (command) => {
        const mock = testCase.mocks[command.stepId] ?? testCase.mocks[command.action];
        if (mock) return mock;
        if (command.action.startsWith('core.') && command.action !== 'core.http_request') return undefined;
        return { error: { code: 'engine.unmocked_action', message: `action ${command.action} (step ${command.stepId}) has no mock in this test case` } };
      },
    });
    await engine.start();
    const failures: string[] = [];
    let runId: string | undefined;
    try {
      runId = await engine.startRun(options.playbook, testCase.inputs);
      let run = await engine.waitForRun(runId, 30_000, { untilWaiting: true });
      for (let round = 0; round < 100 && run.status === 'waiting'; round++) {
        const waits = (await engine.getRun(runId, { history: true })).waits?.filter((w) => w.status === 'open') ?? [];
        let delivered = false;
        for (const wait of waits) {
          const stepId = (wait.request as { step?: string }).step ?? wait.stepKey;
          if (wait.kind === 'approval' && testCase.approvals[stepId]) {
            await engine.decide(runId, wait.stepKey, { decision: testCase.approvals[stepId], actor: 'playbook-test' });
            delivered = true;
          } else if (wait.kind === 'event' && wait.eventName && Object.hasOwn(testCase.events, wait.eventName)) {
            await engine.emitEvent(wait.eventName, testCase.events[wait.eventName]);
            delivered = true;
          }
        }
        if (!delivered) {
          failures.push(`run is waiting on ${waits.map((w) => `${w.kind} ${w.stepKey}`).join(', ')} and the case gives no decision or event for it`);
          break;
        }
        run = await engine.waitForRun(runId, 30_000, { untilWaiting: true });
      }
      const view = await engine.getRun(runId, { history: true });
      const expect = testCase.expect;
      if (failures.length === 0 && view.status !== expect.status) {
        failures.push(`expected status ${expect.status}, got ${view.status}${view.error ? ` (${(view.error as { message?: string }).message})` : ''}`);
      }
      const ran = new Set(
        (view.steps ?? [])
          .filter((s) => s.status === 'completed' || s.status === 'failed')
          .map(
            (s) =>
              s.key
                .split('.')
                .at(-1)
                ?.replace(/\[\d+\]$/, '') ?? s.key,
          ),
      );
      if (expect.path) {
        const wanted = new Set(expect.path);
        const missing = [...wanted].filter((id) => !ran.has(id));
        const extra = [...ran].filter((id) => !wanted.has(id));
        if (missing.length > 0 || extra.length > 0) {
          failures.push(`path differs:${missing.length ? ` did not run ${missing.join(', ')};` : ''}${extra.length ? ` also ran ${extra.join(', ')}` : ''}`);
        }
      }
      for (const id of expect.not_run ?? []) if (ran.has(id)) failures.push(`step ${id} ran but should not have`);
      if (expect.output !== undefined && !subsetMatches(expect.output, view.output)) {
        failures.push(`output ${JSON.stringify(view.output)} does not match expected ${JSON.stringify(expect.output)}`);
      }
      if (expect.error_code !== undefined && (view.error as { code?: string } | null)?.code !== expect.error_code) {
        failures.push(`expected error ${expect.error_code}, got ${(view.error as { code?: string } | null)?.code ?? 'none'}`);
      }
    } catch (error) {
      failures.push((error as Error).message);
    } finally {
      await engine.stop();
    }
    results.push({ file: options.testFile, case: testCase.name, passed: failures.length === 0, failures, runId });
  }
  return results;
}

/** Expected objects match when every key they name matches (extra keys in the actual value are fine). */
function subsetMatches(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) => subsetMatches(value, (actual as Record<string, unknown>)[key]));
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((item, i) => subsetMatches(item, actual[i]));
  }
  return deepEqual(expected as never, actual as never);
}
