import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadConfig } from '../core/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { openRuntime, type Runtime } from './runtime.ts';

/** Alert and case events start the playbooks whose triggers match, with inputs taken from the alert. */
const TRIGGERED = `
id: block-bad-ip
version: 1
title: Triggered by alerts that carry an IPv4
trigger:
  alert:
    where: "{{ alert.observables | selectattr('type', 'equalto', 'ipv4') | list | length > 0 }}"
    inputs:
      ip: "{{ (alert.observables | selectattr('type', 'equalto', 'ipv4') | first).value }}"
      case_id: "{{ case.id }}"
inputs:
  ip: { type: ipv4 }
  case_id: { type: string }
steps:
  - { id: note, action: core.log, with: { message: "saw {{ inputs.ip }}" } }
`;

const ON_CASE_CREATED = `
id: welcome-case
version: 1
title: Runs once per new case
trigger:
  event: { name: case.created, inputs: { case_id: "{{ event.case_id }}" } }
inputs:
  case_id: { type: string }
steps:
  - { id: note, action: core.log, with: { message: "new case {{ inputs.case_id }}" } }
`;

import type { NormalizedAlert } from '../cases/index.ts';
import type { ExtractedObservable } from '../core/index.ts';

const alert = (title: string, observables: Array<Pick<ExtractedObservable, 'type' | 'value'>>): NormalizedAlert => ({
  source: 'generic' as const,
  time: Date.UTC(2026, 10, 28),
  severity: 'high' as const,
  severity_id: 4,
  title,
  description: '',
  rule: { name: title, uid: null },
  product: { name: 'test', vendor: 'riposte' },
  uid: null,
  dedup_key: `${title}-${observables.map((o) => o.value).join(',')}`,
  url: null,
  observables: observables.map((o) => ({ ...o, field: 'test' }) as ExtractedObservable),
  techniques: [],
  tags: [],
  raw: {},
});

for (const backend of testBackends()) {
  describe(`playbook triggers (${backend.backend})`, () => {
    let t: TestStore;
    let runtime: Runtime;
    const dir = mkdtempSync(join(tmpdir(), 'riposte-triggers-'));
    before(async () => {
      t = await backend.open();
      await t.store.close();
      writeFileSync(join(dir, 'block-bad-ip.yml'), TRIGGERED);
      writeFileSync(join(dir, 'welcome-case.yml'), ON_CASE_CREATED);
      const config = loadConfig({ env: { ...t.env, RIPOSTE_PLAYBOOKS_DIR: dir }, cwd: tmpdir() });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
    });
    after(async () => {
      await runtime.close();
      await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const runsOfCase = async (caseId: string, expected: number) => {
      for (let i = 0; i < 100; i++) {
        const runs = await runtime.cases.runsOf(caseId);
        if (runs.length >= expected) return runs;
        await new Promise((r) => setTimeout(r, 20));
      }
      return runtime.cases.runsOf(caseId);
    };

    test('an alert with an IP starts the alert-triggered playbook with the IP as input, linked to the case', async () => {
      const [result] = await runtime.cases.ingest([alert('Beaconing', [{ type: 'ipv4', value: '203.0.113.7' }])]);
      assert.ok(result);
      const runs = await runsOfCase(result.case_id, 2);
      assert.equal(runs.length, 2, 'the alert trigger and the case.created trigger each started one run');
      const views = await Promise.all(runs.map((r) => runtime.engine.getRun(r.run_id)));
      const blocked = views.find((v) => v.playbookId === 'block-bad-ip');
      assert.ok(blocked, JSON.stringify(views));
      assert.deepEqual(blocked.inputs, { ip: '203.0.113.7', case_id: result.case_id });
      assert.equal(blocked.caseId, result.case_id, 'the case is on the run row from the start (its first guarded step sees it)');
      const welcome = views.find((v) => v.playbookId === 'welcome-case');
      assert.deepEqual(welcome?.inputs, { case_id: result.case_id });
    });

    test('an alert without an IP starts only the case trigger; a repeat starts nothing', async () => {
      const a = alert('Odd login', [{ type: 'user', value: 'alice' }]);
      const [first] = await runtime.cases.ingest([a]);
      assert.ok(first);
      const runs = await runsOfCase(first.case_id, 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await runtime.cases.runsOf(first.case_id)).length, 1);
      assert.equal(runs.length, 1);
      const [repeat] = await runtime.cases.ingest([a]);
      assert.equal(repeat?.outcome, 'repeat');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await runtime.cases.runsOf(first.case_id)).length, 1, 'a repeated alert starts no new run');
    });
  });
}
