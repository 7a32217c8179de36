import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import { signWebhook, verifyWebhook } from './webhook-auth.ts';

const now = Date.UTC(2026, 10, 28, 2, 0, 0);
const ts = Math.floor(now / 1000);
const body = '{"title":"x"}';
const base = { source: 'generic', rawBody: body, now, skewMs: 300_000 };
const fails = (input: Parameters<typeof verifyWebhook>[0], code: string, message: RegExp) =>
  assert.throws(
    () => verifyWebhook(input),
    (error: unknown) => error instanceof RiposteError && error.code === code && message.test(error.message),
  );

test('HMAC: current and previous secrets verify; the signature identifies the delivery when no id is sent', () => {
  const credentials = { tokens: [], hmacSecrets: ['new', 'old'] };
  for (const secret of ['new', 'old']) {
    const result = verifyWebhook({
      ...base,
      credentials,
      headers: { 'x-riposte-timestamp': String(ts), 'x-riposte-signature': signWebhook(secret, ts, body) },
    });
    assert.equal(result.method, 'hmac');
    assert.match(result.delivery?.id ?? '', /^sig:[0-9a-f]{64}$/);
    assert.equal(result.delivery?.expiresAt, now + 300_000);
  }
  const withId = verifyWebhook({
    ...base,
    credentials,
    headers: { 'x-riposte-timestamp': String(ts), 'x-riposte-signature': signWebhook('new', ts, body), 'x-riposte-delivery': 'evt-1' },
  });
  assert.equal(withId.delivery?.id, 'evt-1');
});

test('HMAC refusals name the problem', () => {
  const credentials = { tokens: [], hmacSecrets: ['s'] };
  const sig = signWebhook('s', ts, body);
  fails({ ...base, credentials, headers: { 'x-riposte-signature': sig } }, 'webhook.bad_signature', /need x-riposte-timestamp/);
  fails(
    { ...base, credentials, headers: { 'x-riposte-timestamp': 'yesterday', 'x-riposte-signature': sig } },
    'webhook.bad_signature',
    /Unix time in whole seconds/,
  );
  fails(
    { ...base, credentials, headers: { 'x-riposte-timestamp': String(ts + 400), 'x-riposte-signature': signWebhook('s', ts + 400, body) } },
    'webhook.expired',
    /400 s in the future/,
  );
  fails(
    { ...base, credentials, headers: { 'x-riposte-timestamp': String(ts), 'x-riposte-signature': 'sha256=abc' } },
    'webhook.bad_signature',
    /64 hex digits/,
  );
  fails(
    { ...base, rawBody: `${body} `, credentials, headers: { 'x-riposte-timestamp': String(ts), 'x-riposte-signature': sig } },
    'webhook.bad_signature',
    /does not match/,
  );
  fails(
    { ...base, credentials: { tokens: ['t'], hmacSecrets: [] }, headers: { 'x-riposte-timestamp': String(ts), 'x-riposte-signature': sig } },
    'webhook.bad_signature',
    /no HMAC secret/,
  );
});

test('tokens: header or query, any configured one; missing configuration is explicit', () => {
  const credentials = { tokens: ['one', 'two'], hmacSecrets: [] };
  assert.equal(verifyWebhook({ ...base, credentials, headers: { 'x-riposte-token': 'two' } }).method, 'token');
  assert.equal(verifyWebhook({ ...base, credentials, headers: {}, queryToken: 'one' }).delivery, undefined);
  assert.equal(verifyWebhook({ ...base, credentials, headers: { 'x-riposte-token': 'one', 'x-riposte-delivery': 'd1' } }).delivery?.id, 'd1');
  fails({ ...base, credentials, headers: { 'x-riposte-token': 'three' } }, 'webhook.bad_token', /not a valid token for webhook source generic/);
  fails({ ...base, credentials, headers: {} }, 'webhook.unauthenticated', /must carry x-riposte-token/);
  fails({ ...base, credentials: { tokens: [], hmacSecrets: [] }, headers: { 'x-riposte-token': 'x' } }, 'webhook.not_configured', /webhooks\.generic\.tokens/);
  assert.throws(() => verifyWebhook({ ...base, credentials, headers: { 'x-riposte-token': 'one', 'x-riposte-delivery': 'has space' } }), /printable ASCII/);
});
