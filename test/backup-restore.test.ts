import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CasesService } from '../src/cases/index.ts';
import { RiposteError } from '../src/core/index.ts';
import { builtinActions, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import type { BackupLine, Store } from '../src/store/index.ts';
import { type TestBackend, type TestStore, testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * Backup and restore: a populated store (cases with observables, comments, binary evidence, the audit
 * chain, an engine run with its journal) goes out through `backup` and into an empty store of the same or
 * the other backend through `restore`; afterwards every table holds the same rows, full-text search and
 * the audit chain work, and new writes (including serial ids) carry on.
 */
const actions = builtinActions();
const { playbook: loaded, issues } = parsePlaybookYaml(
  `
id: backup-probe
version: 1
title: Two steps for the backup test
steps:
  - { id: one, action: core.log, with: { message: "one" } }
  - { id: two, action: core.transform, with: { value: "two" } }
`,
  { actions },
);
assert.deepEqual(issues, []);
const probe = loaded as Playbook;

async function populate(store: Store): Promise<{ caseId: string }> {
  const cases = new CasesService({ store });
  const created = await cases.createCase({
    title: 'Beaconing to 203.0.113.77 from the finance subnet',
    description: 'Outbound TLS every 60 s to a host listed by two feeds',
    severity: 'high',
    observables: [
      { type: 'ipv4', value: '203.0.113.77' },
      { type: 'domain', value: 'update-check.example' },
    ],
  });
  await cases.addComment(created.id, { body: 'Looks like **Cobalt Strike** jitter' });
  await cases.addEvidence(created.id, { name: 'pcap-excerpt.bin', content: new Uint8Array([0, 1, 2, 250, 251, 252, 255]) });
  await cases.addTask(created.id, { title: 'Pull proxy logs' });
  await cases.createCase({ title: 'Second case about printers', severity: 'low' });
  const engine = new Engine({ store, actions, runner: { pollMs: 10, exclusive: true } });
  await engine.start();
  try {
    const run = await engine.waitForRun(await engine.startRun(probe, {}), 10_000);
    assert.equal(run.status, 'succeeded');
  } finally {
    await engine.stop();
  }
  return { caseId: created.id };
}

async function backupLines(store: Store): Promise<BackupLine[]> {
  const lines: BackupLine[] = [];
  await store.backup((line) => {
    lines.push(JSON.parse(JSON.stringify(line)) as BackupLine);
  });
  return lines;
}

async function* iterate(lines: readonly unknown[]): AsyncGenerator<unknown> {
  for (const line of lines) yield line;
}

const rowCounts = (lines: BackupLine[]) => (lines.at(-1) as { rows: Record<string, number> }).rows;

const backends = testBackends();
const opened: TestStore[] = [];
after(async () => {
  for (const t of opened) await t.dispose();
});
async function fresh(backend: TestBackend, migrate = true): Promise<Store> {
  const t = await backend.open({ migrate });
  opened.push(t);
  return t.store;
}

for (const source of backends) {
  for (const target of backends) {
    describe(`backup from ${source.backend}, restore into ${target.backend}`, () => {
      test('every row comes back; search, evidence bytes, the audit chain and new writes work', async () => {
        const from = await fresh(source);
        const { caseId } = await populate(from);
        const lines = await backupLines(from);
        const header = lines[0] as { format: string; migrations: string[] };
        assert.equal(header.format, 'riposte-backup');
        assert.ok(header.migrations.length > 0);
        const counts = rowCounts(lines);
        assert.equal(counts.cases, 2);
        assert.ok((counts.audit_log ?? 0) > 0, 'audit rows were backed up');
        assert.ok((counts.engine_journal ?? 0) > 0, 'run journal rows were backed up');

        const into = await fresh(target, false);
        const restored = await into.restore(iterate(lines));
        assert.deepEqual(restored.rows, counts);
        await into.migrate();
        const again = await backupLines(into);
        assert.deepEqual(rowCounts(again), counts, 'a backup of the restored store has the same rows');

        const cases = new CasesService({ store: into });
        const found = await cases.listCases({ q: 'beaconing' });
        assert.deepEqual(
          found.items.map((c) => c.id),
          [caseId],
          'full-text search works on restored cases',
        );
        const [evidence] = await cases.listEvidence(caseId);
        assert.ok(evidence);
        const { content } = await cases.getEvidence(caseId, evidence.id);
        assert.deepEqual([...content], [0, 1, 2, 250, 251, 252, 255]);
        const audit = await cases.verifyAudit();
        assert.equal(audit.ok, true, JSON.stringify(audit.broken));
        assert.ok(audit.records > 0);

        // New writes after the restore: a case, an audit record and a run journal (a serial id on PostgreSQL).
        await cases.addComment(caseId, { body: 'after restore' });
        const engine = new Engine({ store: into, actions, runner: { pollMs: 10, exclusive: true } });
        await engine.start();
        try {
          assert.equal((await engine.waitForRun(await engine.startRun(probe, {}), 10_000)).status, 'succeeded');
        } finally {
          await engine.stop();
        }
        assert.equal((await cases.verifyAudit()).ok, true);
        recordFigure('chaos', 'backup_restore_round_trips', 1);
      });
    });
  }
}

for (const backend of backends) {
  describe(`restore refusals (${backend.backend})`, () => {
    test('a non-empty target, a truncated file, a newer backup and a damaged row are refused and restore nothing', async () => {
      const from = await fresh(backend);
      await populate(from);
      const lines = await backupLines(from);

      const busy = await fresh(backend);
      await assert.rejects(busy.restore(iterate(lines)), (error: unknown) => error instanceof RiposteError && /not empty/.test(error.message));

      const truncated = await fresh(backend, false);
      await assert.rejects(truncated.restore(iterate(lines.slice(0, -1))), /truncated/);
      assert.deepEqual(
        (await truncated.migrationStatus()).filter((m) => m.appliedAt !== undefined),
        [],
        'a failed restore leaves the target empty, so it can be retried',
      );
      await truncated.restore(iterate(lines));

      const newer = await fresh(backend, false);
      const header = { ...(lines[0] as object), migrations: [...(lines[0] as { migrations: string[] }).migrations, '9999-from-the-future'] };
      await assert.rejects(newer.restore(iterate([header, ...lines.slice(1)])), /newer Riposte.*9999-from-the-future/);

      const damaged = await fresh(backend, false);
      const index = lines.findIndex((l) => 'r' in l);
      const broken = lines.map((l, i) => (i === index ? { r: [1] } : l));
      await assert.rejects(damaged.restore(iterate(broken)), /has 1 values for \d+ columns/);

      await assert.rejects((await fresh(backend, false)).restore(iterate([{ hello: 'world' }])), /not a Riposte backup/);
    });
  });
}

describe('riposte backup / restore CLI', () => {
  const root = resolve(import.meta.dirname, '..');
  const scratch = mkdtempSync(join(tmpdir(), 'riposte-backup-cli-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const riposte = (args: string[], env: Record<string, string>) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RIPOSTE_')));
    return spawnSync(process.execPath, [join(root, 'riposte'), ...args], { cwd: scratch, env: { ...clean, ...env }, encoding: 'utf8', timeout: 90_000 });
  };

  test('backs up a SQLite data dir to a gzipped file and restores it into a new one; damage is a one-line error', async () => {
    const source = await fresh(backends[0] as TestBackend);
    await populate(source);
    const dir = (source.location.match(/^(.*)[/\\][^/\\]+$/) ?? [])[1];
    assert.ok(dir, source.location);
    const file = join(scratch, 'riposte.rbk.gz');
    const backup = riposte(['backup', file, '--json'], { RIPOSTE_DATA_DIR: dir });
    assert.equal(backup.status, 0, backup.stderr);
    const summary = JSON.parse(backup.stdout) as { rows: number; counts: Record<string, number> };
    assert.equal(summary.counts.cases, 2);
    assert.match(gunzipSync(readFileSync(file)).toString('utf8').split('\n')[0] ?? '', /"format":"riposte-backup"/);

    const restored = riposte(['restore', file, '--json'], { RIPOSTE_DATA_DIR: join(scratch, 'restored') });
    assert.equal(restored.status, 0, restored.stderr);
    const result = JSON.parse(restored.stdout) as { rows: number; audit_ok: boolean };
    assert.equal(result.rows, summary.rows);
    assert.equal(result.audit_ok, true);

    const twice = riposte(['restore', file], { RIPOSTE_DATA_DIR: join(scratch, 'restored') });
    assert.equal(twice.status, 1);
    assert.match(twice.stderr.trim(), /^[^\n]*not empty[^\n]*$/);

    const damaged = join(scratch, 'damaged.rbk');
    writeFileSync(damaged, `${gunzipSync(readFileSync(file)).toString('utf8').split('\n').slice(0, 3).join('\n')}\n{oops\n`);
    const bad = riposte(['restore', damaged], { RIPOSTE_DATA_DIR: join(scratch, 'restored-2') });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr.trim(), /^[^\n]*line 4 is not JSON[^\n]*$/);
  });
});
