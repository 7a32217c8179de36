import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Evidence } from '../../core/index.ts';
import { collectEvidence, KnownGoodLists, scoreVerdict } from './index.ts';

const ev = (source: string, evaluation: Evidence['evaluation'], reliability: number): Evidence => ({ source, evaluation, reliability, details: {} });

describe('verdict scoring', () => {
  test('agreeing reliable sources make a confident malicious verdict', () => {
    const result = scoreVerdict({
      observable: '1.2.3.4',
      evidence: [ev('virustotal', 'malicious', 8), ev('abuseipdb', 'malicious', 7), ev('otx', 'suspicious', 5)],
    });
    assert.equal(result.verdict, 'malicious');
    assert.ok(result.confidence >= 80, String(result.confidence));
    assert.match(result.reasons[0] as string, /malicious with confidence/);
    assert.ok(result.reasons.some((r) => r.startsWith('virustotal (reliability 8/10): malicious')));
  });

  test('one weak source is not enough for malicious', () => {
    const result = scoreVerdict({ observable: '1.2.3.4', evidence: [ev('otx', 'malicious', 5), ev('shodan', 'unknown', 3)] });
    assert.equal(result.verdict, 'suspicious');
  });

  test('a reliable benign source outweighs a stray suspicious one', () => {
    const result = scoreVerdict({ observable: '1.2.3.4', evidence: [ev('greynoise', 'benign', 8), ev('virustotal', 'suspicious', 8)] });
    assert.notEqual(result.verdict, 'malicious');
    assert.notEqual(result.verdict, 'suspicious');
  });

  test('no informative evidence is unknown with confidence 0', () => {
    const result = scoreVerdict({ observable: '1.2.3.4', evidence: [ev('shodan', 'unknown', 3)] });
    assert.equal(result.verdict, 'unknown');
    assert.equal(result.confidence, 0);
  });

  test('same evidence in any order gives the same verdict, confidence and reasons', () => {
    const evidence = [
      ev('virustotal', 'malicious', 8),
      ev('greynoise', 'benign', 8),
      ev('abuseipdb', 'malicious', 7),
      ev('otx', 'suspicious', 5),
      ev('ipinfo', 'unknown', 2),
    ];
    const first = scoreVerdict({ observable: 'x', evidence, expectedSources: ['shodan', 'virustotal'] });
    for (let i = 0; i < 10; i++) {
      const shuffled = [...evidence].sort(() => Math.random() - 0.5);
      assert.deepEqual(scoreVerdict({ observable: 'x', evidence: shuffled, expectedSources: ['virustotal', 'shodan'] }), first);
    }
  });

  test('missing sources are named in the reasons', () => {
    const result = scoreVerdict({
      observable: 'x',
      evidence: [ev('virustotal', 'malicious', 8), ev('abuseipdb', 'malicious', 7)],
      expectedSources: ['virustotal', 'abuseipdb', 'greynoise'],
      failures: { greynoise: 'integration.timeout: GreyNoise did not answer' },
    });
    assert.equal(result.verdict, 'malicious');
    assert.deepEqual(result.sources.missing, ['greynoise']);
    assert.ok(result.reasons.some((r) => r.includes('greynoise: no answer (integration.timeout')));
  });

  test('a partner on the allow-list is benign even with malicious evidence', () => {
    const lists = KnownGoodLists.load({ only: [], allow: { partners: [{ value: '195.12.50.0/24', label: 'Northwind Traders VPN' }] } });
    const hits = lists.check('195.12.50.17');
    assert.equal(hits[0]?.title, 'Northwind Traders VPN');
    const result = scoreVerdict({ observable: '195.12.50.17', evidence: [ev('virustotal', 'malicious', 8), ev('abuseipdb', 'malicious', 7)], knownGood: hits });
    assert.equal(result.verdict, 'benign');
    assert.match(result.reasons[0] as string, /allow-listed: Northwind Traders VPN .*overriding malicious/);
  });

  test('a CDN address on a warning list is never malicious', () => {
    const lists = KnownGoodLists.load({ only: ['cloudflare', 'public-dns-v4'] });
    const hits = lists.check('104.16.132.229');
    assert.equal(hits[0]?.list, 'cloudflare');
    const result = scoreVerdict({
      observable: '104.16.132.229',
      evidence: [ev('virustotal', 'malicious', 8), ev('abuseipdb', 'malicious', 7), ev('otx', 'malicious', 5)],
      knownGood: hits,
    });
    assert.equal(result.verdict, 'suspicious');
    assert.ok(result.confidence <= 50);
    assert.match(result.reasons[0] as string, /known shared infrastructure/);
  });

  test('shipped warning lists know public resolvers, reserved ranges and top domains', () => {
    const lists = KnownGoodLists.load();
    assert.ok(lists.check('8.8.8.8').some((hit) => hit.list === 'public-dns-v4'));
    assert.ok(lists.check('10.1.2.3').some((hit) => hit.list === 'rfc1918'));
    assert.ok(lists.check('www.google.com').some((hit) => hit.list === 'tranco10k'));
    assert.deepEqual(lists.check('185.220.101.47'), []);
  });
});

describe('collecting evidence from step outputs', () => {
  test('takes evidence from outputs and names entries without it', () => {
    const collected = collectEvidence({
      vt: { evidence: ev('virustotal', 'malicious', 8) },
      abuse: null,
      gn: { error: { code: 'integration.timeout', message: 'late' } },
    });
    assert.equal(collected.evidence.length, 1);
    assert.deepEqual(Object.keys(collected.failures).sort(), ['abuse', 'gn']);
    assert.match(collected.failures.gn as string, /integration.timeout/);
  });
});
