import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { base62, constantTimeEqual, generateApiToken, generateSessionSecret, looksLikeApiToken, sha256Hex } from './secrets.ts';

describe('bearer secrets', () => {
  test('API tokens are rpt_ + 43 base62 characters and never repeat', () => {
    const tokens = new Set(Array.from({ length: 500 }, generateApiToken));
    assert.equal(tokens.size, 500);
    for (const token of tokens) {
      assert.match(token, /^rpt_[0-9A-Za-z]{43}$/);
      assert.ok(looksLikeApiToken(token));
    }
    assert.equal(looksLikeApiToken('rpt_short'), false);
    assert.equal(looksLikeApiToken(`xyz_${'a'.repeat(43)}`), false);
  });

  test('base62 encodes the extremes of 32 bytes in 43 digits', () => {
    assert.equal(base62(new Uint8Array(32), 43), '0'.repeat(43));
    const max = base62(new Uint8Array(32).fill(255), 43);
    assert.equal(max.length, 43);
    assert.notEqual(max[0], '0');
    assert.equal(base62(Uint8Array.of(61), 2), '0z');
    assert.equal(base62(Uint8Array.of(62), 2), '10');
  });

  test('session secrets are 32 random bytes in base64url; hashes are hex SHA-256', () => {
    assert.match(generateSessionSecret(), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('constant-time equality compares whole values of any length', () => {
    assert.equal(constantTimeEqual('same', 'same'), true);
    assert.equal(constantTimeEqual('same', 'Same'), false);
    assert.equal(constantTimeEqual('same', 'same-but-longer'), false);
    assert.equal(constantTimeEqual('', ''), true);
  });
});
