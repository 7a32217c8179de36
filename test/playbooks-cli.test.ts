import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

/** The playbook commands end to end, as a user runs them: the `riposte` launcher in a child process. */
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'riposte-cli-playbooks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function riposte(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [join(root, 'riposte'), ...args], {
    cwd: dir,
    env: { ...process.env, RIPOSTE_DATA_DIR: join(dir, 'data'), RIPOSTE_PLAYBOOKS_DIR: join(root, 'playbooks'), RIPOSTE_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('riposte playbook and run commands', () => {
  test('validate accepts the shipped examples and reports problems with line:column and hints', () => {
    assert.equal(riposte(['playbook', 'validate', join(root, 'playbooks/suspicious-ip.yml')]).code, 0);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'id: bad\nversion: 1\ntitle: Bad\nsteps:\n  - id: one\n    action: core.lgo\n    with: { message: "{{ unclosed" }\n');
    const result = riposte(['playbook', 'validate', bad]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /bad\.yml:6:13: unknown action "core\.lgo" \[engine\.unknown_action\]\n {4}hint: did you mean "core\.log"\?/);
    assert.match(result.stdout, /bad\.yml:7:\d+: template syntax error/);
    const json = JSON.parse(riposte(['playbook', 'validate', '--json', bad]).stdout);
    assert.equal(json[0].valid, false);
  });

  test('playbook test runs the example tests and fails a case whose expectation is wrong', () => {
    const ok = riposte(['playbook', 'test']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /18 passed, 0 failed/);
    const wrong = join(dir, 'wrong.test.yml');
    writeFileSync(
      wrong,
      `playbook: ${join(root, 'playbooks/suspicious-ip.yml')}\ncases:\n  - name: wrong verdict\n    inputs: { ip: 198.51.100.24 }\n    mocks: { intel: { output: { body: { malicious: 0 } } } }\n    expect: { output: { verdict: malicious }, path: [intel] }\n`,
    );
    const failed = riposte(['playbook', 'test', wrong]);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /FAIL .* wrong verdict/);
    assert.match(failed.stdout, /output .* does not match expected/);
    assert.match(failed.stdout, /path differs: also ran record/);
  });

  test('run --dry-run prints the side effects it would cause and leaves no run behind', () => {
    const input = join(dir, 'in.yml');
    writeFileSync(input, 'ip: 198.51.100.23\nintel_url: "http://127.0.0.1:9/"\n');
    const result = riposte(['run', 'suspicious-ip', '--input', input, '--dry-run']);
    // The intel lookup is a read (GET) and really runs: against a refused loopback address, so the run fails there.
    assert.equal(result.code, 1);
    assert.match(result.stdout, /http\.blocked_address/);
    const listed = riposte(['runs', 'list', '--json']);
    assert.deepEqual(JSON.parse(listed.stdout), []);
  });
});
