import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { builtinActions, decide, foldJournal, type JournalEvent, type Playbook, parsePlaybookYaml } from './index.ts';

const playbook = parsePlaybookYaml(
  `
id: pure
version: 1
title: Pure
inputs: { hosts: { type: array } }
steps:
  - { id: first, action: core.transform, with: { value: "{{ inputs.hosts | length }}" } }
  - id: each
    foreach: { items: "{{ inputs.hosts }}", concurrency: 2, do: [ { id: touch, action: core.log, with: { message: "{{ item }}" } } ] }
  - { id: nap, wait: { duration: 1h } }
  - { id: last, action: core.transform, with: { value: "{{ steps.each.output }}" } }
`,
  { actions: builtinActions() },
).playbook as Playbook;

const inputs = { hosts: ['a', 'b', 'c'] };
const completed = (stepKey: string, output: unknown): JournalEvent => ({ kind: 'step_completed', stepKey, data: { output } });
const keys = (journal: JournalEvent[]) => decide(playbook, inputs, foldJournal(journal), { runId: 'r1' }).commands.map((c) => c.key);

describe('interpreter', () => {
  test('is a function of the journal: the same journal always gives the same decision', () => {
    const journal = [completed('first', 3), completed('each[0].touch', { message: 'a' })];
    const one = decide(playbook, inputs, foldJournal(journal), { runId: 'r1' });
    const two = decide(playbook, inputs, foldJournal(journal), { runId: 'r1' });
    assert.deepEqual(one, two);
  });

  test('completed steps are never commanded again; foreach keeps to its concurrency', () => {
    assert.deepEqual(keys([]), ['first']);
    assert.deepEqual(keys([completed('first', 3)]), ['each[0].touch', 'each[1].touch']);
    assert.deepEqual(keys([completed('first', 3), completed('each[0].touch', 1)]), ['each[1].touch', 'each[2].touch']);
  });

  test('a wait is commanded once, then reported as an open wait with its wake time', () => {
    const before = [completed('first', 3), completed('each[0].touch', 1), completed('each[1].touch', 2), completed('each[2].touch', 3)];
    const open = decide(playbook, inputs, foldJournal(before), { runId: 'r1' });
    assert.deepEqual(open.commands, [{ type: 'wait', key: 'nap', stepId: 'nap', wait: { kind: 'timer', durationMs: 3_600_000 } }]);
    const waiting = decide(playbook, inputs, foldJournal([...before, { kind: 'wait_started', stepKey: 'nap', data: { kind: 'timer', wake_at: 5000 } }]), {
      runId: 'r1',
    });
    assert.deepEqual(waiting.commands, []);
    assert.deepEqual(waiting.waits, [{ key: 'nap', kind: 'timer', wakeAt: 5000 }]);
    const done = decide(playbook, inputs, foldJournal([...before, completed('nap', {}), completed('last', [1, 2, 3])]), { runId: 'r1' });
    assert.deepEqual(done.outcome, { status: 'succeeded', output: [1, 2, 3] });
  });

  test('retry state carries the attempt number and the runner-chosen retry time; resume forgets failures', () => {
    const retrying = foldJournal([{ kind: 'attempt_failed', stepKey: 'first', data: { attempt: 1, retry_at: 1234, error: { code: 'x', message: 'y' } } }]);
    const command = decide(playbook, inputs, retrying, { runId: 'r1' }).commands[0];
    assert.equal(command?.type === 'action' && command.attempt, 2);
    assert.equal(command?.type === 'action' && command.notBefore, 1234);
    const failed = [{ kind: 'step_failed', stepKey: 'first', data: { error: { code: 'x', message: 'boom' } } }];
    assert.equal(decide(playbook, inputs, foldJournal(failed), { runId: 'r1' }).outcome?.status, 'failed');
    assert.deepEqual(keys([...failed, { kind: 'run_resumed', stepKey: null, data: {} }]), ['first']);
  });
});
