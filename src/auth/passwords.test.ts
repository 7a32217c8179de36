import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import { checkPasswordPolicy, DEFAULT_PASSWORD_HASH_PARAMS, generatePassword, hashPassword, needsRehash, verifyPassword } from './passwords.ts';

describe('password hashing', () => {
  test('hashes are argon2id in PHC format with OWASP parameters and a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, 'salts differ');
    assert.equal(await verifyPassword('correct horse battery staple', a), true);
    assert.equal(await verifyPassword('correct horse battery stapl', a), false);
    assert.equal(await verifyPassword('Correct horse battery staple', b), false);
  });

  test('malformed or foreign hashes never verify and never throw', async () => {
    for (const bad of ['', 'plaintext', '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', '$2b$12$abcdefghijklmnopqrstuv']) {
      assert.equal(await verifyPassword('x', bad), false, bad);
    }
  });

  test('hashes made with weaker parameters still verify but ask to be redone', async () => {
    const weak = await hashPassword('a long enough passphrase', { memory: 1024, passes: 1, parallelism: 1 });
    assert.equal(await verifyPassword('a long enough passphrase', weak), true);
    assert.equal(needsRehash(weak), true);
    assert.equal(needsRehash(await hashPassword('a long enough passphrase')), false);
    assert.equal(needsRehash(await hashPassword('x', { ...DEFAULT_PASSWORD_HASH_PARAMS, memory: 65536 })), false, 'stronger is fine');
  });

  test('the policy is about length and names the field', () => {
    assert.throws(
      () => checkPasswordPolicy('short', 'new_password'),
      (e: unknown) => e instanceof RiposteError && e.code === 'input.invalid' && /new_password must be at least 12/.test(e.message),
    );
    assert.throws(() => checkPasswordPolicy('x'.repeat(257)), /at most 256/);
    checkPasswordPolicy('twelve chars');
  });

  test('generated passwords are long, varied and pass the policy', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      assert.match(p, /^[A-HJ-NP-Za-km-z2-9]{20}$/);
      checkPasswordPolicy(p);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });
});
