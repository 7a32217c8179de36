import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createEngine } from '../../app/index.ts';
import { ConfigSchema, createLogger } from '../../core/index.ts';
import type { Engine } from '../../engine/index.ts';
import { type TestStore, testBackends } from '../../store/testing.ts';
import { buildServer } from '../index.ts';

const PLAYBOOK = `
id: greet
version: 1
title: Greet
inputs: { name: { type: string } }
outputs: { greeting: "{{ steps.say.output }}" }
steps:
  - { id: say, action: core.transform, with: { value: "hello {{ inputs.name }}" } }
`;
const GATED = `
id: gated
version: 1
title: Gated
steps:
  - { id: ask, approval: { prompt: "ok?" } }
  - { id: done, action: core.transform, with: { value: "{{ steps.ask.output.actor }}" } }
`;

for (const backend of testBackends()) {
  describe(`runs API (${backend.backend})`, () => {
    let t: TestStore;
    let app: FastifyInstance;
    let engine: Engine;
    const dir = mkdtempSync(join(tmpdir(), 'riposte-playbooks-'));
    before(async () => {
      writeFileSync(join(dir, 'greet.yml'), PLAYBOOK);
      writeFileSync(join(dir, 'gated.yml'), GATED);
      t = await backend.open();
      const config = ConfigSchema.parse({ engine: { playbooks_dir: dir } });
      const logger = createLogger({ level: 'silent' });
      const setup = createEngine(t.store, config, { logger, runner: { pollMs: 20 } });
      engine = setup.engine;
      await engine.start();
      app = await buildServer({ store: t.store, config, logger, version: 'test', engine, playbooks: setup.playbooks });
    });
    after(async () => {
      await app.close();
      await engine.stop();
      await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    test('POST /api/v1/playbooks/{id}/runs?wait= holds the response until the run finishes', async () => {
      const response = await app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs?wait=10', payload: { inputs: { name: 'ada' } } });
      assert.equal(response.statusCode, 200, response.body);
      const { run } = response.json();
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(run.output, { greeting: 'hello ada' });
      assert.equal(run.steps[0].key, 'say');
      const listed = await app.inject({ method: 'GET', url: '/api/v1/runs?playbook=greet' });
      assert.equal(listed.json().runs[0].id, run.id);
      const shown = await app.inject({ method: 'GET', url: `/api/v1/runs/${run.id}` });
      assert.equal(shown.json().run.inputs.name, 'ada');
    });

    test('bad inputs and unknown playbooks are problem+json naming the field', async () => {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs', payload: { inputs: { name: 7 } } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /input "name" must be a string/);
      const missing = await app.inject({ method: 'POST', url: '/api/v1/playbooks/nope/runs', payload: {} });
      assert.equal(missing.statusCode, 404);
    });

    test('approvals are listed and decided; cancel ends a waiting run', async () => {
      const started = await app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs?wait=10', payload: {} });
      assert.equal(started.statusCode, 202);
      const id = started.json().run.id;
      const approvals = await app.inject({ method: 'GET', url: '/api/v1/approvals' });
      assert.ok(approvals.json().approvals.some((a: { runId: string }) => a.runId === id));
      const decided = await app.inject({ method: 'POST', url: `/api/v1/runs/${id}/approvals/ask`, payload: { decision: 'approve', actor: 'alice' } });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.equal((await engine.waitForRun(id, 10_000)).output, 'alice');

      const other = (await app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs?wait=10', payload: {} })).json().run.id;
      const cancelled = await app.inject({ method: 'POST', url: `/api/v1/runs/${other}/cancel` });
      assert.equal(cancelled.json().run.status, 'cancelled');
      const again = await app.inject({ method: 'POST', url: `/api/v1/runs/${other}/cancel` });
      assert.equal(again.statusCode, 409);
    });
  });
}
