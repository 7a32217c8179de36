import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import {
  action,
  collectPages,
  createIntegrationInstance,
  defineIntegration,
  MasterKey,
  openSecret,
  ResponseCache,
  rewrapSecret,
  runJob,
  sealSecret,
  TokenBucket,
} from './index.ts';

describe('token bucket', () => {
  test('allows the burst, then refills at the configured rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ perMinute: 60, burst: 2 }, { now: () => now });
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
    assert.equal(bucket.waitTime(), 1000);
    now = 1000;
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
  });

  test('take() waits for a token and honours abort', async () => {
    const bucket = new TokenBucket({ perSecond: 50, burst: 1 });
    await bucket.take();
    await bucket.take();
    const controller = new AbortController();
    const bucketSlow = new TokenBucket({ perMinute: 1, burst: 1 });
    await bucketSlow.take();
    const waiting = bucketSlow.take(controller.signal);
    controller.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
  });
});

describe('response cache', () => {
  test('serves within the TTL by canonical input, expires after it, and coalesces concurrent loads', async () => {
    let now = 0;
    const cache = new ResponseCache({ now: () => now });
    let loads = 0;
    const load = async () => ({ n: ++loads });
    const a = ResponseCache.key('vt', 'ip_report', { ip: '1.2.3.4', x: 1 });
    const b = ResponseCache.key('vt', 'ip_report', { x: 1, ip: '1.2.3.4' });
    assert.equal(a, b);
    const [first, second] = await Promise.all([cache.getOrLoad(a, 1000, load), cache.getOrLoad(b, 1000, load)]);
    assert.deepEqual([first, second], [{ n: 1 }, { n: 1 }]);
    now = 999;
    assert.deepEqual(await cache.getOrLoad(a, 1000, load), { n: 1 });
    now = 1000;
    assert.deepEqual(await cache.getOrLoad(a, 1000, load), { n: 2 });
    cache.forgetInstance('vt');
    assert.equal(cache.size, 0);
  });

  test('failures are not cached', async () => {
    const cache = new ResponseCache();
    await assert.rejects(cache.getOrLoad('k', 1000, async () => Promise.reject(new Error('down'))));
    assert.deepEqual(await cache.getOrLoad('k', 1000, async () => 'up'), 'up');
  });
});

describe('pagination and jobs', () => {
  test('walks cursors to the end, stopping at maxItems', async () => {
    const pages: Record<number, number[]> = { 0: [1, 2], 1: [3, 4], 2: [5] };
    const fetcher = { first: 0, fetch: async (cursor: number) => ({ items: pages[cursor] ?? [], next: cursor < 2 ? cursor + 1 : undefined }) };
    assert.deepEqual(await collectPages(fetcher), [1, 2, 3, 4, 5]);
    assert.deepEqual(await collectPages({ ...fetcher, maxItems: 3 }), [1, 2, 3]);
    await assert.rejects(collectPages({ first: 0, fetch: async (c: number) => ({ items: [c], next: c + 1 }), maxPages: 3 }), /stopped after 3 pages/);
  });

  test('polls a job to its result, reports failures and deadlines', async () => {
    let checks = 0;
    const done = await runJob({
      vendor: 'Sandbox',
      submit: async () => 'job-1',
      check: async () => (++checks < 3 ? { done: false } : { done: true, result: 'clean' }),
      initialIntervalMs: 1,
    });
    assert.deepEqual(done, { jobId: 'job-1', result: 'clean', polls: 3 });
    await assert.rejects(
      runJob({ vendor: 'Sandbox', submit: async () => 'j', check: async () => ({ failed: true, reason: 'crashed' }) }),
      /Sandbox job j failed: crashed/,
    );
    await assert.rejects(
      runJob({ vendor: 'Splunk', submit: async () => 'sid', check: async () => ({ done: false }), deadlineMs: 20, initialIntervalMs: 5 }),
      (error: unknown) => error instanceof RiposteError && error.code === 'integration.timeout',
    );
  });
});

describe('secret box', () => {
  test('seals per secret, opens only with the same key and context, and re-wraps on rotation', () => {
    const master = MasterKey.generate();
    const sealed = sealSecret(master, 'vt/apiKey', 'k3y-value');
    assert.ok(!JSON.stringify(sealed).includes('k3y-value'));
    assert.notEqual(sealSecret(master, 'vt/apiKey', 'k3y-value').ciphertext, sealed.ciphertext);
    assert.equal(openSecret(master, 'vt/apiKey', sealed), 'k3y-value');
    assert.throws(() => openSecret(master, 'other/apiKey', sealed), /failed authentication/);
    const tampered = { ...sealed, ciphertext: Buffer.from(Buffer.from(sealed.ciphertext, 'base64').map((b, i) => (i === 30 ? b ^ 1 : b))).toString('base64') };
    assert.throws(() => openSecret(master, 'vt/apiKey', tampered), /failed authentication/);
    const next = MasterKey.generate();
    const rewrapped = rewrapSecret(master, next, 'vt/apiKey', sealed);
    assert.equal(rewrapped.ciphertext, sealed.ciphertext);
    assert.equal(openSecret(next, 'vt/apiKey', rewrapped), 'k3y-value');
    assert.throws(() => openSecret(master, 'vt/apiKey', rewrapped), /wrong|master key/);
    assert.throws(() => MasterKey.parse('too short'), /32 bytes/);
  });
});

describe('defineIntegration and instances', () => {
  const echo = defineIntegration({
    id: 'echo',
    title: 'Echo',
    config: z.object({ baseUrl: z.url().default('https://echo.example') }),
    secrets: { token: 'token' },
    actions: {
      say: action({
        title: 'Say',
        impact: 'read',
        input: z.object({ text: z.string() }),
        output: z.object({ said: z.string() }),
        run: async ({ input, secrets }) => ({ said: `${input.text} ${secrets.token}` }),
      }),
      shape: action({
        title: 'Wrong shape',
        impact: 'read',
        input: z.object({}),
        output: z.object({ n: z.number() }),
        run: async () => ({ n: 'x' as unknown as number }),
      }),
    },
  });

  test('scrubs secret values from outputs and reports a changed vendor shape as bad_response', async () => {
    const instance = createIntegrationInstance(echo, { name: 'echo', config: {}, secrets: { token: 'sekrit-123' } });
    assert.deepEqual(await instance.run('say', { text: 'hi' }, { idempotencyKey: 'k' }), { said: 'hi [secret]' });
    await assert.rejects(
      instance.run('shape', {}, { idempotencyKey: 'k' }),
      (e: unknown) => e instanceof RiposteError && e.code === 'integration.bad_response',
    );
    await assert.rejects(
      instance.run('nope', {}, { idempotencyKey: 'k' }),
      (e: unknown) => e instanceof RiposteError && e.code === 'integration.unknown_action',
    );
  });

  test('a missing secret is a clear error naming it', async () => {
    const instance = createIntegrationInstance(echo, { name: 'echo2', config: {}, secrets: {} });
    await assert.rejects(instance.run('say', { text: 'hi' }, { idempotencyKey: 'k' }), /secret "token" is not set/);
  });

  test('definitions are checked: names, inverses, cache only on reads', () => {
    assert.throws(() => defineIntegration({ ...echo, id: 'Bad-Id' }), /snake_case/);
    assert.throws(
      () => action({ title: 'Block', impact: 'destructive', input: z.object({}), output: z.object({}), cacheTtl: 10, run: async () => ({}) }),
      /only read actions may be cached/,
    );
  });
});
