import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

/** `riposte phish submit` through the real binary: reports clustered into one case, bad files reported. */
const ROOT = resolve(import.meta.dirname, '..');

test('riposte phish submit --json: the same lure twice joins one case; a missing file is an error line and exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-phish-submit-'));
  try {
    const lure = 'test/fixtures/email/corpus/phish/html-credential-page.eml';
    const run = spawnSync(process.execPath, [join(ROOT, 'riposte'), 'phish', 'submit', '--json', '--reporter', 'ann@example.com', lure, lure, 'missing.eml'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RIPOSTE_DATA_DIR: dir,
        RIPOSTE_ADMIN_PASSWORD: 'cli-test-password-123',
        RIPOSTE_LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; error?: string; analyses?: Array<{ case_id: string; joined: boolean; verdict: string }> });
    assert.equal(lines.length, 3);
    assert.equal(lines[0]?.analyses?.[0]?.verdict, 'malicious');
    assert.equal(lines[0]?.analyses?.[0]?.joined, false);
    assert.equal(lines[1]?.analyses?.[0]?.joined, true);
    assert.equal(lines[1]?.analyses?.[0]?.case_id, lines[0]?.analyses?.[0]?.case_id);
    assert.deepEqual(lines[2], { file: 'missing.eml', error: 'no such file' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
