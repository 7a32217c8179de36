import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { originatingIp, parseReceived, receivedHops } from './received-chain.ts';

describe('Received chain', () => {
  test('hops run oldest first with per-hop delays across midnight, days and timezones', () => {
    // Header order is newest first.
    const hops = receivedHops([
      'from mx1.corp.example (mx1.corp.example [10.0.0.5]) by mail.corp.example with ESMTPS id A; Wed, 2 Jan 2025 00:00:30 +0000',
      'from out.sender.example (out.sender.example [198.51.100.20]) by mx1.corp.example with ESMTPS id B; Tue, 1 Jan 2025 19:00:10 -0500',
      'from laptop ([192.168.1.44]) by out.sender.example with ESMTPSA id C; Tue, 31 Dec 2024 23:59:50 +0000',
    ]);
    assert.deepEqual(
      hops.map((h) => [h.from, h.ip, h.by, h.timestamp, h.delaySeconds]),
      [
        ['laptop', '192.168.1.44', 'out.sender.example', '2024-12-31T23:59:50.000Z', null],
        ['out.sender.example', '198.51.100.20', 'mx1.corp.example', '2025-01-02T00:00:10.000Z', 86420],
        ['mx1.corp.example', '10.0.0.5', 'mail.corp.example', '2025-01-02T00:00:30.000Z', 20],
      ],
    );
    assert.deepEqual(hops[0]?.flags, ['private_ip']);
    assert.equal(originatingIp(hops), '198.51.100.20');
  });

  test('a relay whose clock runs behind shows as clock skew with a negative delay, not as a lie', () => {
    const hops = receivedHops([
      'from b.example (b.example [203.0.113.9]) by c.example; Mon, 6 Jan 2025 10:00:00 +0000',
      'from a.example (a.example [203.0.113.8]) by b.example; Mon, 6 Jan 2025 10:02:00 +0000',
    ]);
    assert.equal(hops[1]?.delaySeconds, -120);
    assert.ok(hops[1]?.flags.includes('clock_skew'));
  });

  test('unknown relays, IPv6 literals and missing dates are reported', () => {
    const [hop] = receivedHops(['from unknown (HELO corp.example) ([IPv6:2001:db8::25]) by mx.corp.example with SMTP']);
    assert.equal(hop?.ip, '2001:db8::25');
    assert.ok(hop?.flags.includes('unknown_host'));
    assert.ok(hop?.flags.includes('no_timestamp'));
    // The address in TCP-info wins over one the client claimed in HELO.
    assert.equal(parseReceived('from [203.0.113.1] (helo.example [198.51.100.3]) by mx; Mon, 6 Jan 2025 10:00:00 +0000').ip, '198.51.100.3');
  });
});
