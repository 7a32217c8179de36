import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { builtinActions, defineAction, Engine } from '../engine/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { rollbackPlaybook, ttlOf } from './containment.ts';

describe('containment helpers', () => {
  test('expiry from ttl / expires_in (durations, or seconds as numbers) and ttl_hours/minutes/seconds', () => {
    assert.equal(ttlOf({ ttl: '24h' }), 86_400_000);
    assert.equal(ttlOf({ ttl: 3600 }), 3_600_000, 'a number is seconds, as firewall APIs take it');
    assert.equal(ttlOf({ expires_in: '90' }), 90_000, 'digits in a string are seconds too');
    assert.equal(ttlOf({ expires_in: '1h30m' }), 5_400_000);
    assert.equal(ttlOf({ ttl_hours: 4 }), 14_400_000);
    assert.equal(ttlOf({ ttl_minutes: 15 }), 900_000);
    assert.equal(ttlOf({ ttl: 'forever' }), undefined, 'an unreadable ttl is no expiry, not a guess');
    assert.equal(ttlOf({ ttl: 0 }), undefined);
    assert.equal(ttlOf({ ip: '203.0.113.9' }), undefined);
  });
});

for (const backend of testBackends()) {
  describe(`rollback playbook (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('the inverse receives the recorded arguments exactly, typed, even with odd keys and template-looking text', async () => {
      const seen: unknown[] = [];
      const actions = builtinActions().register(
        defineAction({
          id: 'lab.release_host',
          title: 'release',
          impact: 'write',
          input: z.object({ host: z.string(), containment_id: z.number(), 'odd-key': z.string(), options: z.object({ notify: z.boolean() }) }),
          run(input) {
            seen.push(input);
            return { released: true };
          },
        }),
      );
      const engine = new Engine({ store: t.store, actions, runner: { pollMs: 20 } });
      const args = { host: 'pay-db01', containment_id: 4711, 'odd-key': '{{ secrets.x }}', options: { notify: false } };
      await engine.start();
      try {
        const runId = await engine.startRun(
          rollbackPlaybook({ id: 'r1:isolate', action: 'lab.isolate_host', inverseAction: 'lab.release_host', inverseArguments: args }),
          { arguments: args },
        );
        const run = await engine.waitForRun(runId, 10_000);
        assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
        assert.deepEqual(seen, [args], 'passed as data, never evaluated as a template');
      } finally {
        await engine.stop();
      }
    });
  });
}
