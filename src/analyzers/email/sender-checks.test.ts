import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthSummary } from './authentication.ts';
import { FREEMAIL_DOMAINS, type SenderPolicy, senderSignals } from './sender-checks.ts';

const policy: SenderPolicy = {
  ownDomains: ['examplecorp.com'],
  protectedDomains: ['paypal.com'],
  vips: [{ name: 'Jane Doe', emails: ['jane.doe@examplecorp.com'] }],
  organisationNames: ['Example Corp'],
  freemailDomains: new Set(FREEMAIL_DOMAINS),
};
const auth = (dmarc: AuthSummary['dmarc'] = 'none'): AuthSummary => ({
  spf: 'none',
  dkim: 'none',
  dmarc,
  arc: 'none',
  source: { spf: 'header', dkim: 'header', dmarc: 'header', arc: 'none' },
  domains: { dkim: [], spf: null, dmarc: null },
  untrustedHeaders: 0,
});
const codes = (from: { name: string; address: string }, extra: { replyTo?: string; dmarc?: AuthSummary['dmarc'] } = {}) =>
  senderSignals(
    { from, replyTo: extra.replyTo ? [{ name: '', address: extra.replyTo }] : [], returnPath: undefined, sender: undefined },
    auth(extra.dmarc),
    policy,
  )
    .map((s) => s.code)
    .sort();

describe('sender checks', () => {
  test('a VIP name from any address but theirs is impersonation, in any spelling', () => {
    assert.deepEqual(codes({ name: 'Doe, Jane', address: 'ceo.office@gmail.com' }), ['vip_impersonation']);
    assert.deepEqual(codes({ name: 'Jаne Dоe (CEO)', address: 'jd@mail.example' }), ['vip_impersonation']);
    assert.deepEqual(codes({ name: 'Jane Doe', address: 'jane.doe@examplecorp.com' }), []);
  });

  test('lookalikes, reply-to elsewhere, borrowed names and free-mail companies', () => {
    assert.deepEqual(codes({ name: 'PayPal', address: 'service@paypa1.com' }), ['lookalike_sender_domain']);
    assert.deepEqual(codes({ name: 'Billing', address: 'billing@vendor.example' }, { replyTo: 'vendor.billing@gmail.com' }), ['reply_to_mismatch']);
    assert.deepEqual(codes({ name: 'Example Corp Payroll', address: 'payroll.team@outlook.com' }), ['freemail_claims_company', 'own_name_in_display_name']);
    assert.deepEqual(codes({ name: 'IT', address: 'it@examplecorp.com' }, { dmarc: 'fail' }), ['own_domain_spoofed']);
    assert.deepEqual(codes({ name: 'Maria', address: 'maria@gmail.com' }), []);
  });
});
