import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEngine } from '../../app/index.ts';
import type { Engine } from '../../engine/index.ts';
import { testBackends } from '../../store/testing.ts';
import { openTestServer, type TestServer } from '../testing.ts';

const PLAYBOOK = `
id: greet
version: 1
title: Greet
inputs: { name: { type: string } }
outputs: { greeting: "{{ steps.say.output }}" }
steps:
  - { id: say, action: core.transform, with: { value: "hello {{ inputs.name }}" } }
`;
const WAITING = `
id: waits-for-ticket
version: 1
title: Waits for the ticket to close
steps:
  - { id: ticket, wait: { event: ticket.closed, timeout: 1h } }
  - { id: done, action: core.transform, with: { value: "{{ steps.ticket.output.payload.ticket }}" } }
`;
const GATED = `
id: gated
version: 1
title: Gated
steps:
  - { id: ask, approval: { prompt: "ok?" } }
  - { id: done, action: core.transform, with: { value: "{{ steps.ask.output.actor }}" } }
`;
const ADMINS_ONLY = `
id: gated-admins
version: 1
title: Gated, admins decide
author: pb-author
steps:
  - { id: ask, approval: { prompt: "ok?", approvers: [admin, duty-officer] } }
  - { id: done, action: core.transform, with: { value: "{{ steps.ask.output.actor }}" } }
`;

for (const backend of testBackends()) {
  describe(`runs API (${backend.backend})`, () => {
    let server: TestServer;
    let engine: Engine;
    let headers: { authorization: string };
    const dir = mkdtempSync(join(tmpdir(), 'riposte-playbooks-'));
    before(async () => {
      writeFileSync(join(dir, 'greet.yml'), PLAYBOOK);
      writeFileSync(join(dir, 'gated.yml'), GATED);
      writeFileSync(join(dir, 'gated-admins.yml'), ADMINS_ONLY);
      writeFileSync(join(dir, 'waits-for-ticket.yml'), WAITING);
      server = await openTestServer(backend, {
        config: { 'engine.playbooks_dir': dir },
        services: (store, config) => {
          const setup = createEngine(store, config, { runner: { pollMs: 20 } });
          engine = setup.engine;
          return { engine: setup.engine, playbooks: setup.playbooks };
        },
      });
      await engine.start();
      headers = await server.as('admin');
    });
    after(async () => {
      await engine?.stop();
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    test('POST /api/v1/playbooks/{id}/runs?wait= holds the response until the run finishes', async () => {
      const response = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs?wait=10', headers, payload: { inputs: { name: 'ada' } } });
      assert.equal(response.statusCode, 200, response.body);
      const { run } = response.json();
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(run.output, { greeting: 'hello ada' });
      assert.equal(run.steps[0].key, 'say');
      assert.match(run.created_at, /^\d{4}-\d\d-\d\dT/);
      const listed = await server.app.inject({ method: 'GET', url: '/api/v1/runs?playbook=greet', headers });
      assert.equal(listed.json().items[0].id, run.id);
      const shown = await server.app.inject({ method: 'GET', url: `/api/v1/runs/${run.id}`, headers });
      assert.equal(shown.json().run.inputs.name, 'ada');
    });

    test('POST /api/v1/events wakes the runs waiting on that event name with its payload', async () => {
      const started = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/waits-for-ticket/runs', headers, payload: {} });
      const runId = started.json().run.id as string;
      let status = '';
      for (let i = 0; i < 200 && status !== 'waiting'; i++) {
        status = (await server.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}`, headers })).json().run.status;
        if (status !== 'waiting') await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(status, 'waiting');
      const other = await server.app.inject({ method: 'POST', url: '/api/v1/events', headers, payload: { name: 'ticket.reopened' } });
      assert.deepEqual(other.json().woken_runs, [], 'another name wakes nothing');
      const sent = await server.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers,
        payload: { name: 'ticket.closed', payload: { ticket: 'INC-42' } },
      });
      assert.equal(sent.statusCode, 200, sent.body);
      assert.deepEqual(sent.json().woken_runs, [runId]);
      let run: { status: string; output: unknown } = { status: '', output: null };
      for (let i = 0; i < 200 && run.status !== 'succeeded'; i++) {
        run = (await server.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}`, headers })).json().run;
        if (run.status !== 'succeeded') await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(run.status, 'succeeded');
      assert.equal(run.output, 'INC-42');
      const bad = await server.app.inject({ method: 'POST', url: '/api/v1/events', headers, payload: { name: 'has spaces' } });
      assert.equal(bad.statusCode, 400);
    });

    test('GET /api/v1/runs pages newest first with next_cursor', async () => {
      for (let i = 0; i < 3; i++)
        await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs', headers, payload: { inputs: { name: `n${i}` } } });
      const first = (await server.app.inject({ method: 'GET', url: '/api/v1/runs?limit=2', headers })).json();
      assert.equal(first.items.length, 2);
      assert.ok(first.items[0].id > first.items[1].id);
      const second = (await server.app.inject({ method: 'GET', url: `/api/v1/runs?limit=2&cursor=${first.next_cursor}`, headers })).json();
      assert.ok(second.items[0].id < first.items[1].id);
    });

    test('bad inputs and unknown playbooks are problem+json naming the field', async () => {
      const bad = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs', headers, payload: { inputs: { name: 7 } } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /input "name" must be a string/);
      const missing = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/nope/runs', headers, payload: {} });
      assert.equal(missing.statusCode, 404);
    });

    test('approvals are listed and decided; cancel ends a waiting run', async () => {
      const approver = await server.as('approver');
      const started = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs?wait=10', headers, payload: {} });
      assert.equal(started.statusCode, 202);
      const id = started.json().run.id;
      const approvals = await server.app.inject({ method: 'GET', url: '/api/v1/approvals', headers });
      assert.ok(approvals.json().items.some((a: { run_id: string }) => a.run_id === id));
      const decided = await server.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${id}/approvals/ask`,
        headers: approver,
        payload: { decision: 'approve', comment: 'ok' },
      });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.match(String((await engine.waitForRun(id, 10_000)).output), /^test-user-/, 'the decider is the signed-in caller');
      const viewer = await server.as('viewer');
      const refused = await server.app.inject({ method: 'POST', url: `/api/v1/runs/${id}/cancel`, headers: viewer });
      assert.equal(refused.statusCode, 403, 'a viewer may not cancel runs');

      const other = (await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs?wait=10', headers, payload: {} })).json().run.id;
      const cancelled = await server.app.inject({ method: 'POST', url: `/api/v1/runs/${other}/cancel`, headers });
      assert.equal(cancelled.json().run.status, 'cancelled');
      const again = await server.app.inject({ method: 'POST', url: `/api/v1/runs/${other}/cancel`, headers });
      assert.equal(again.statusCode, 409);
    });

    test('an approval step is never decided by the run’s starter or the playbook’s author, and only by its approvers', async () => {
      const decide = (id: string, who: { authorization: string }) =>
        server.app.inject({ method: 'POST', url: `/api/v1/runs/${id}/approvals/ask`, headers: who, payload: { decision: 'approve' } });
      const refusal = (response: { statusCode: number; json(): { code: string; details: { reason: string } } }) => {
        assert.equal(response.statusCode, 403);
        return `${response.json().code}/${response.json().details.reason}`;
      };
      // The starter asks; they may not answer, even as an admin.
      const own = (await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs', headers, payload: {} })).json().run.id;
      await engine.waitForRun(own, 10_000, { untilWaiting: true });
      assert.equal(refusal(await decide(own, headers)), 'engine.approver_not_allowed/initiator');
      // …but may withdraw it.
      const withdrawn = await server.app.inject({ method: 'POST', url: `/api/v1/runs/${own}/approvals/ask`, headers, payload: { decision: 'reject' } });
      assert.equal(withdrawn.statusCode, 200, withdrawn.body);

      const id = (await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/gated-admins/runs', headers, payload: {} })).json().run.id;
      await engine.waitForRun(id, 10_000, { untilWaiting: true });
      // An approver who is not listed (by name or role) is refused.
      assert.equal(refusal(await decide(id, await server.as('approver'))), 'engine.approver_not_allowed/not_listed');
      // The playbook's last author is refused although an admin.
      await server.auth.createUser({ name: 'pb-author', roles: ['admin'] });
      const author = { authorization: `Bearer ${(await server.auth.createToken({ userName: 'pb-author' })).token}` };
      assert.equal(refusal(await decide(id, author)), 'engine.approver_not_allowed/author');
      assert.equal((await engine.getRun(id)).status, 'waiting', 'no refused decision counted');
      // Another admin may.
      const decided = await decide(id, await server.as('admin'));
      assert.equal(decided.statusCode, 200, decided.body);
      assert.match(String((await engine.waitForRun(id, 10_000)).output), /^test-user-/);
    });

    test('Idempotency-Key: twenty concurrent duplicates start exactly one run and all get it back', async () => {
      const before = (await engine.listRuns({ playbookId: 'gated', limit: 1000 })).length;
      const key = `"${crypto.randomUUID()}"`;
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          server.app.inject({ method: 'POST', url: '/api/v1/playbooks/gated/runs', headers: { ...headers, 'idempotency-key': key }, payload: {} }),
        ),
      );
      for (const response of responses) assert.equal(response.statusCode, 202, response.body);
      const ids = new Set(responses.map((r) => r.json().run.id as string));
      assert.equal(ids.size, 1, `one run for one key, got ${[...ids].join(', ')}`);
      assert.equal((await engine.listRuns({ playbookId: 'gated', limit: 1000 })).length, before + 1);
      assert.equal(responses.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 19);
    });

    test('Idempotency-Key: a retry gets the same run with the original status; another body with the key is a 422', async () => {
      const key = crypto.randomUUID();
      const withKey = { ...headers, 'idempotency-key': key };
      const first = await server.app.inject({
        method: 'POST',
        url: '/api/v1/playbooks/greet/runs?wait=10',
        headers: withKey,
        payload: { inputs: { name: 'ada' } },
      });
      assert.equal(first.statusCode, 200, first.body);
      const retry = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs', headers: withKey, payload: { inputs: { name: 'ada' } } });
      assert.equal(retry.statusCode, 200, 'answered with the status the first request got');
      assert.equal(retry.json().run.id, first.json().run.id);
      assert.equal(retry.json().run.status, 'succeeded');

      const other = await server.app.inject({ method: 'POST', url: '/api/v1/playbooks/greet/runs', headers: withKey, payload: { inputs: { name: 'bob' } } });
      assert.equal(other.statusCode, 422, other.body);
      assert.match(String(other.headers['content-type']), /application\/problem\+json/);
      assert.equal(other.json().code, 'run.idempotency_key_reused');
      assert.match(other.json().detail, new RegExp(first.json().run.id));
      const otherPlaybook = await server.app.inject({
        method: 'POST',
        url: '/api/v1/playbooks/gated/runs',
        headers: withKey,
        payload: { inputs: { name: 'ada' } },
      });
      assert.equal(otherPlaybook.statusCode, 422, 'the same body for another playbook is another request');

      // Keys belong to their user: someone else's identical key starts their own run.
      const someoneElse = await server.app.inject({
        method: 'POST',
        url: '/api/v1/playbooks/greet/runs',
        headers: { ...(await server.as('admin')), 'idempotency-key': key },
        payload: { inputs: { name: 'ada' } },
      });
      assert.equal(someoneElse.statusCode, 202, someoneElse.body);
      assert.notEqual(someoneElse.json().run.id, first.json().run.id);

      for (const bad of ['""', 'x'.repeat(256), 'caf\u00e9']) {
        const refused = await server.app.inject({
          method: 'POST',
          url: '/api/v1/playbooks/greet/runs',
          headers: { ...headers, 'idempotency-key': bad },
          payload: {},
        });
        assert.equal(refused.statusCode, 400, bad);
        assert.equal(refused.json().code, 'run.idempotency_key_invalid');
      }
    });
  });
}
