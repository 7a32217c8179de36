import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { analyzeEmail } from './analyze-email.ts';
import { fixtureResolver, trustedHeaderAuth } from './authentication.ts';

/** A message from sender.example relayed by 198.51.100.20, DKIM-signed with a key published only in the fixture DNS. */
async function signedMessage(body: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = [
    'Received: from out.sender.example (out.sender.example [198.51.100.20]) by mx.corp.example with ESMTPS id X; Mon, 6 Jan 2025 10:00:00 +0000',
    'Return-Path: <bounce@sender.example>',
    'From: Billing <billing@sender.example>',
    'To: alex@corp.example',
    'Subject: Your invoice',
    'Date: Mon, 6 Jan 2025 09:59:58 +0000',
    'Message-ID: <inv-1@sender.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Your invoice is attached.',
    '',
  ].join('\r\n');
  // mailauth's typings require top-level key fields, but it signs only what signatureData lists.
  const options = {
    signatureData: [{ signingDomain: 'sender.example', selector: 's1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }],
  };
  const signed = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
  const resolver = fixtureResolver({
    's1._domainkey.sender.example txt': [[`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]],
    'sender.example txt': [['v=spf1 ip4:198.51.100.20 -all']],
    '_dmarc.sender.example txt': [['v=DMARC1; p=reject']],
  });
  return { bytes: new TextEncoder().encode(signed.signatures + message.replace('Your invoice is attached.', body)), resolver };
}

describe('authentication', () => {
  test('DKIM, SPF and DMARC are verified again offline through the injected resolver', async () => {
    const { bytes, resolver } = await signedMessage('Your invoice is attached.');
    const analysis = await analyzeEmail(bytes, { resolver });
    assert.deepEqual({ spf: analysis.auth.spf, dkim: analysis.auth.dkim, dmarc: analysis.auth.dmarc }, { spf: 'pass', dkim: 'pass', dmarc: 'pass' });
    assert.equal(analysis.auth.source.dkim, 'verified');
    assert.equal(analysis.verdict, 'benign');
  });

  test('a body changed after signing fails DKIM', async () => {
    const { bytes, resolver } = await signedMessage('Pay to the new IBAN instead.');
    const analysis = await analyzeEmail(bytes, { resolver });
    assert.equal(analysis.auth.dkim, 'fail');
    assert.ok(analysis.signals.some((s) => s.code === 'dkim_fail'));
  });

  test('without a resolver nothing is re-verified, and no DNS is asked', async () => {
    const { bytes } = await signedMessage('Your invoice is attached.');
    const analysis = await analyzeEmail(bytes);
    assert.equal(analysis.auth.dkim, 'none');
    assert.equal(analysis.auth.source.dkim, 'none');
  });

  test('Authentication-Results count only from trusted authserv-ids', () => {
    const headers = [
      'mx.corp.example; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=corp.example',
      'forged.example; spf=pass smtp.mailfrom=corp.example; dkim=pass header.d=corp.example; dmarc=pass header.from=corp.example',
    ];
    const trusted = trustedHeaderAuth(headers, ['mx.corp.example']);
    assert.deepEqual(trusted.results, { spf: 'fail', dkim: 'none', dmarc: 'fail' });
    assert.equal(trusted.untrusted, 1);
    assert.deepEqual(trustedHeaderAuth(headers, []).results, {});
  });
});
