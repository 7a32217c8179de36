import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Lab, SIMULATOR_API_KEY, startLab } from '../src/lab/index.ts';

/** `riposte integrations` end to end against the lab simulators (children run async: the simulators live here). */
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'riposte-cli-integrations-'));
let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

function riposte(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'riposte'), ...args],
      {
        cwd: dir,
        env: { ...process.env, RIPOSTE_DATA_DIR: join(dir, 'data'), RIPOSTE_LOG_LEVEL: 'silent', RIPOSTE_INTEGRATIONS_HTTP_ALLOW: '127.0.0.1', ...env },
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('riposte integrations', () => {
  test('add with a secret from the environment, list without the value, test against the simulator', async () => {
    const added = await riposte(
      [
        'integrations',
        'add',
        'abuse',
        '--product',
        'abuseipdb',
        '--base-url',
        lab.simulators.abuseipdb?.url as string,
        '--secret-env',
        'apiKey=ABUSE_KEY',
        '--json',
      ],
      {
        ABUSE_KEY: SIMULATOR_API_KEY,
      },
    );
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(added.stdout).actions, ['abuse.check']);
    const list = await riposte(['integrations', 'list']);
    assert.match(list.stdout, /abuse\s+abuseipdb/);
    assert.ok(!list.stdout.includes(SIMULATOR_API_KEY));
    const ok = await riposte(['integrations', 'test', '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout)[0].ok, true);
    await riposte(['integrations', 'add', 'abuse', '--product', 'abuseipdb', '--secret-env', 'apiKey=ABUSE_KEY'], { ABUSE_KEY: 'wrong-key' });
    const failed = await riposte(['integrations', 'test', 'abuse']);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /FAILED\s+\d+\s+integration\.unauthorized/);
    const missingEnv = await riposte(['integrations', 'add', 'x', '--product', 'abuseipdb', '--secret-env', 'apiKey=NOT_SET_ANYWHERE']);
    assert.equal(missingEnv.code, 2);
    assert.match(missingEnv.stderr, /environment variable NOT_SET_ANYWHERE is not set/);
  });
});
