import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLoginLimiter } from './login-limiter.ts';

describe('login limiter', () => {
  test('allows the limit per name + address, then says how long to wait', () => {
    const limiter = createLoginLimiter({ perUserAndAddress: 3, perAddress: 100, windowMs: 60_000 });
    assert.equal(limiter.attempt('alice', '10.0.0.1', 0), 0);
    assert.equal(limiter.attempt('alice', '10.0.0.1', 1000), 0);
    assert.equal(limiter.attempt('alice', '10.0.0.1', 2000), 0);
    assert.equal(limiter.attempt('alice', '10.0.0.1', 3000), 57_000);
    assert.equal(limiter.attempt('alice', '10.0.0.2', 3000), 0, 'another address is counted apart');
    assert.equal(limiter.attempt('bob', '10.0.0.1', 3000), 0, 'another name is counted apart');
    assert.equal(limiter.attempt('alice', '10.0.0.1', 60_001), 0, 'the window slides');
  });

  test('a success clears the name + address window', () => {
    const limiter = createLoginLimiter({ perUserAndAddress: 2, perAddress: 100, windowMs: 60_000 });
    limiter.attempt('alice', 'a', 0);
    limiter.attempt('alice', 'a', 1);
    assert.ok(limiter.attempt('alice', 'a', 2) > 0);
    limiter.succeeded('alice', 'a');
    assert.equal(limiter.attempt('alice', 'a', 3), 0);
  });

  test('one address spraying many names is limited by the address budget', () => {
    const limiter = createLoginLimiter({ perUserAndAddress: 10, perAddress: 5, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) assert.equal(limiter.attempt(`user${i}`, 'evil', i), 0);
    assert.ok(limiter.attempt('user99', 'evil', 10) > 0);
    assert.equal(limiter.attempt('user99', 'good', 10), 0);
  });

  test('memory stays bounded under a flood of distinct keys', () => {
    const limiter = createLoginLimiter({ perUserAndAddress: 1, perAddress: 1, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.attempt(`u${i}`, `ip${i}`, 0);
    // The earliest keys were forgotten, so their budget is available again: proof the map was trimmed.
    assert.equal(limiter.attempt('u0', 'ip0', 1), 0);
  });
});
