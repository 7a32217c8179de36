import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock, parseDuration } from './clock.ts';
import { idTime, isId, newId } from './ids.ts';
import { createLogger, redactSecrets } from './logger.ts';

describe('ids', () => {
  test('are valid UUIDv7 carrying their creation time', () => {
    const at = Date.UTC(2026, 10, 28, 12, 0, 0);
    const id = newId(at);
    assert.ok(isId(id), id);
    assert.equal(id[14], '7');
    assert.equal(idTime(id), at);
  });

  test('sort in creation order, even many within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    const sorted = [...ids].sort();
    assert.deepEqual(ids, sorted);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('stay ordered when the clock steps backwards', () => {
    const a = newId(Date.UTC(2030, 0, 1));
    const b = newId(Date.UTC(2029, 0, 1));
    assert.ok(b > a);
  });
});

describe('durations', () => {
  test('parse the forms playbooks use', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1500'), 1500);
    assert.equal(parseDuration(250), 250);
  });

  test('reject what is not a duration', () => {
    for (const bad of ['', 'soon', '5 minutes', '-3s', '3x', '1h junk', 'h']) assert.equal(parseDuration(bad), undefined, bad);
  });

  test('never throw on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const value = parseDuration(text);
        return value === undefined || (Number.isFinite(value) && value >= 0);
      }),
    );
  });

  test('manual clock moves only when told', () => {
    const clock = new ManualClock(1000);
    assert.equal(clock.now(), 1000);
    clock.advance(500);
    assert.equal(clock.now(), 1500);
  });
});

describe('secret redaction', () => {
  test('removes secret-looking keys at any depth and keeps the rest', () => {
    const input = {
      user: 'alice',
      password: 'hunter2',
      integration: { apiKey: 'k-123', config: { base_url: 'https://x', client_secret: 's' } },
      headers: [{ Authorization: 'Bearer abc' }],
    };
    const out = redactSecrets(input) as typeof input;
    assert.equal(out.user, 'alice');
    assert.equal(out.password, '[redacted]');
    assert.equal(out.integration.apiKey, '[redacted]');
    assert.equal(out.integration.config.client_secret, '[redacted]');
    assert.equal(out.integration.config.base_url, 'https://x');
    assert.equal(out.headers[0]?.Authorization, '[redacted]');
    assert.equal(input.password, 'hunter2', 'input untouched');
  });

  test('log lines never contain secret values', () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    logger.info({ token: 'tok-SECRET-1', nested: { api_key: 'key-SECRET-2', host: 'fw01' } }, 'calling firewall');
    assert.match(written, /calling firewall/);
    assert.match(written, /fw01/);
    assert.doesNotMatch(written, /SECRET/);
  });

  test('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    assert.deepEqual(redactSecrets(a), { name: 'a', self: '[circular]' });
  });
});
