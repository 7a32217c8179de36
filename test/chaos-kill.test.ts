import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { CasesService } from '../src/cases/index.ts';
import { type TestBackend, type TestStore, testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * Chaos: SIGKILL at random moments while the schema is being migrated and while the audit chain is being
 * appended to. Afterwards the database is never half-migrated, every acknowledged write is there, and the
 * audit chain verifies.
 */
const ROOT = resolve(import.meta.dirname, '..');
const opened: TestStore[] = [];
after(async () => {
  for (const t of opened) await t.dispose().catch(() => {});
});

async function freshUnmigrated(backend: TestBackend): Promise<TestStore> {
  const t = await backend.open({ migrate: false });
  await t.store.close();
  opened.push(t);
  return t;
}

/** Runs a child and SIGKILLs it `ms` after it starts — or after it prints `startOn`, when given. */
function killAfter(args: string[], env: Record<string, string>, ms: number, startOn?: string): Promise<{ killed: boolean; stdout: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stderr.resume();
  return new Promise((done) => {
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer ??= setTimeout(() => {
        killed = child.kill('SIGKILL');
      }, ms);
    };
    if (startOn === undefined) arm();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (startOn !== undefined && stdout.includes(startOn)) arm();
    });
    child.on('exit', () => {
      clearTimeout(timer);
      done({ killed: killed && child.signalCode === 'SIGKILL', stdout });
    });
  });
}

for (const backend of testBackends()) {
  describe(`chaos: SIGKILL mid-write (${backend.backend})`, () => {
    test('a migration killed at any moment leaves the schema either untouched or complete', { timeout: 240_000 }, async () => {
      let kills = 0;
      for (let round = 0; round < 6; round++) {
        const t = await freshUnmigrated(backend);
        // Node's start-up takes most of the first few hundred ms: spread the kills across start and migration.
        const outcome = await killAfter([join(ROOT, 'riposte'), 'db', 'migrate', '--json'], t.env, 300 + Math.random() * 900);
        if (outcome.killed) kills++;
        const store = await t.reopen({ migrate: false });
        try {
          const states = await store.migrationStatus();
          const applied = states.filter((s) => s.appliedAt !== undefined).length;
          assert.ok(applied === 0 || applied === states.length, `round ${round}: ${applied} of ${states.length} migrations applied — half-migrated`);
          await store.migrate();
          assert.ok((await store.migrationStatus()).every((s) => s.appliedAt !== undefined));
          const cases = new CasesService({ store });
          await cases.createCase({ title: 'after the kill', severity: 'low' });
          assert.equal((await cases.verifyAudit()).ok, true);
        } finally {
          await store.close();
        }
      }
      recordFigure('chaos', 'faults_injected (SIGKILL during migration)', kills);
      recordFigure('chaos', 'data_lost (half-migrated schemas)', 0);
    });

    test('audit and case writes killed mid-stream: every acknowledged write survives and the chain verifies', { timeout: 240_000 }, async () => {
      const t = await backend.open();
      opened.push(t);
      await t.store.close();
      const acknowledged: string[] = [];
      let kills = 0;
      for (let round = 0; round < 4; round++) {
        const outcome = await killAfter(
          [join(ROOT, 'test', 'chaos-audit-child.ts')],
          { ...t.env, CHAOS_ROUND: String(round) },
          200 + Math.random() * 800,
          'ready',
        );
        if (outcome.killed) kills++;
        for (const line of outcome.stdout.split('\n')) {
          const match = /^ack (\S+) (case|audit)$/.exec(line);
          if (match) acknowledged.push(`${match[2]}:${match[1]}`);
        }
      }
      assert.ok(acknowledged.length > 3, `the child acknowledged writes before dying (${acknowledged.length})`);
      const store = await t.reopen();
      try {
        const cases = new CasesService({ store });
        const verification = await cases.verifyAudit();
        assert.equal(verification.ok, true, `chain broken after SIGKILL: ${JSON.stringify(verification.broken)}`);
        const targets = new Set<string>();
        for await (const record of cases.exportAudit({})) targets.add(String((record as { target?: unknown }).target));
        const titles = new Set<string>();
        for (let cursor: string | undefined, page = 0; page < 100; page++) {
          const listed = await cases.listCases({ limit: 200, ...(cursor ? { cursor } : {}) });
          for (const c of listed.items) titles.add(c.title);
          if (!listed.next_cursor) break;
          cursor = listed.next_cursor;
        }
        const lost = acknowledged.filter((entry) => {
          const [kind, marker] = entry.split(':') as [string, string];
          return kind === 'audit' ? !targets.has(marker) : !titles.has(`Chaos case ${marker}`);
        });
        assert.deepEqual(lost, [], 'acknowledged writes missing after the kills');
        recordFigure('chaos', 'faults_injected (SIGKILL during audit writes)', kills);
        recordFigure('chaos', 'acknowledged_writes_checked', acknowledged.length);
        recordFigure('chaos', 'data_lost (acknowledged writes)', lost.length);
        assert.ok(kills >= 3, 'the kills landed');
      } finally {
        await store.close();
      }
    });
  });
}

// The launcher refuses old Node versions; make sure the child processes above run our Node.
assert.equal(spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim().split('.')[0], 'v24');
