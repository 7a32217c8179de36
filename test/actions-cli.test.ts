import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/store/index.ts';

/**
 * `riposte actions list|rollback` as an operator runs them, in a child process against an SQLite store.
 * The recorded action's inverse is `core.log` (registered in every process), so the rollback's own run
 * executes in the CLI process and the lifecycle can be followed end to end.
 */
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'riposte-cli-actions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function riposte(args: string[]) {
  const result = spawnSync(process.execPath, [join(root, 'riposte'), ...args], {
    cwd: dir,
    env: {
      ...process.env,
      RIPOSTE_DATA_DIR: join(dir, 'data'),
      RIPOSTE_PLAYBOOKS_DIR: join(root, 'playbooks'),
      RIPOSTE_LOG_LEVEL: 'silent',
      RIPOSTE_MASTER_KEY: 'ab'.repeat(32),
    },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('riposte actions', () => {
  before(async () => {
    const store = await openStore({ dataDir: join(dir, 'data') });
    await store.containedActions.insert({
      id: 'run-1:block',
      runId: 'run-1',
      stepKey: 'block',
      caseId: null,
      action: 'firewall.block_ip',
      target: '203.0.113.9',
      arguments: { ip: '203.0.113.9', ttl: '24h' },
      inverseAction: 'core.log',
      inverseArguments: { message: 'unblock 203.0.113.9' },
      expiresAt: Date.now() + 86_400_000,
      performedBy: 'rita',
      reason: 'policy high-confidence',
    });
    await store.close();
  });

  test('help shows examples', () => {
    const help = riposte(['actions', 'rollback', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}riposte actions rollback .* --reason/);
    assert.match(riposte(['actions', 'list', '--help']).stdout, /riposte actions list --status active/);
  });

  test('list shows the action in effect; rollback undoes it once and says so; a second rollback is refused', () => {
    const listed = riposte(['actions', 'list', '--status', 'active']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /run-1:block\s+firewall\.block_ip\s+203\.0\.113\.9\s+active/);
    assert.equal(riposte(['actions', 'list', '--status', 'sideways']).code, 2, 'a bad status is a usage error');
    assert.notEqual(riposte(['actions', 'rollback', 'run-1:block']).code, 0, '--reason is required');

    const undone = riposte(['actions', 'rollback', 'run-1:block', '--reason', 'false positive', '--actor', 'alice', '--json']);
    assert.equal(undone.code, 0, undone.stdout + undone.stderr);
    const result = JSON.parse(undone.stdout);
    assert.equal(result.started, true);
    assert.equal(result.action.status, 'rolled_back');
    assert.equal(result.action.rollback.by, 'alice');
    assert.equal(result.run.status, 'succeeded');

    const again = riposte(['actions', 'rollback', 'run-1:block', '--reason', 'false positive']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already undone \(rolled_back, by alice/);
    const json = JSON.parse(riposte(['actions', 'list', '--json']).stdout);
    assert.equal(json[0].status, 'rolled_back');
    const missing = riposte(['actions', 'rollback', 'nope', '--reason', 'typo']);
    assert.match(missing.stderr, /contained action "nope" does not exist/);
  });
});
