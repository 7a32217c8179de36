import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Evidence } from '../../core/index.ts';
import { DEFAULT_DECAY_MODELS, decayedScore, decayFactor, decayModelFor, isRevoked, revokeAfterMs, scoreVerdict } from './index.ts';

const DAY = 86_400_000;

describe('score decay (polynomial, per observable type)', () => {
  test('monotonic: never rises with age, 1 at age 0, 0 at and after the lifetime', () => {
    for (const model of Object.values(DEFAULT_DECAY_MODELS)) {
      let previous = decayFactor(model, 0);
      assert.equal(previous, 1);
      for (let day = 1; day <= model.lifetimeDays + 10; day++) {
        const factor = decayFactor(model, day * DAY);
        assert.ok(factor <= previous, `${JSON.stringify(model)} rose at day ${day}`);
        assert.ok(factor >= 0);
        previous = factor;
      }
      assert.equal(decayFactor(model, model.lifetimeDays * DAY), 0);
    }
  });

  test('the score reaches the revoke threshold when revokeAfterMs says, and is revoked by the lifetime', () => {
    for (const model of Object.values(DEFAULT_DECAY_MODELS)) {
      for (const base of [100, 80, 50]) {
        const at = revokeAfterMs(model, base);
        assert.ok(at > 0 && at < model.lifetimeDays * DAY);
        assert.ok(Math.abs(decayedScore(base, model, at) - model.revokeScore) < 1e-6, `${base} → ${decayedScore(base, model, at)}`);
        assert.equal(isRevoked(model, at - DAY, base), false);
        assert.equal(isRevoked(model, at + DAY, base), true);
        assert.equal(isRevoked(model, model.lifetimeDays * DAY, base), true);
      }
    }
  });

  test('IPs decay fast, hashes slowly; the formula is base × (1 − (t/lifetime)^(1/rate))', () => {
    const ip = decayModelFor('185.220.101.47');
    const hash = decayModelFor('44d88612fea8a8f36de82e1278abb02f');
    assert.deepEqual(ip, DEFAULT_DECAY_MODELS.ip);
    assert.deepEqual(hash, DEFAULT_DECAY_MODELS.hash);
    assert.ok(decayFactor(ip, 14 * DAY) < 0.35, String(decayFactor(ip, 14 * DAY)));
    assert.ok(decayFactor(hash, 14 * DAY) > 0.99);
    // 7.5 of 30 days, rate 2: 1 − (0.25)^(1/2) = 0.5
    assert.equal(decayedScore(100, ip, 7.5 * DAY), 50);
    assert.equal(decayModelFor('evil.example').lifetimeDays, DEFAULT_DECAY_MODELS.domain.lifetimeDays);
    assert.equal(decayModelFor('x', 'sha256'), DEFAULT_DECAY_MODELS.hash);
  });

  test('same inputs, same result; a future observation does not gain weight', () => {
    const model = DEFAULT_DECAY_MODELS.url;
    assert.equal(decayFactor(model, 10 * DAY), decayFactor(model, 10 * DAY));
    assert.equal(decayFactor(model, -5 * DAY), 1);
  });
});

describe('decay in verdict scoring', () => {
  const now = Date.UTC(2026, 10, 28);
  const ev = (source: string, reliability: number, observedDaysAgo?: number): Evidence => ({
    source,
    evaluation: 'malicious',
    reliability,
    details: {},
    ...(observedDaysAgo === undefined ? {} : { observed_at: new Date(now - observedDaysAgo * DAY).toISOString() }),
  });

  test('fresh reports keep their weight; old ones fade, then expire and are named', () => {
    const fresh = scoreVerdict({ observable: '45.155.205.233', evidence: [ev('misp_a', 8, 0), ev('abuseipdb', 7, 0)], now });
    assert.equal(fresh.verdict, 'malicious');
    assert.equal(fresh.score.malicious, 1.5);
    const fading = scoreVerdict({ observable: '45.155.205.233', evidence: [ev('misp_a', 8, 7.5), ev('abuseipdb', 7, 0)], now });
    assert.equal(fading.score.malicious, 1.1);
    assert.ok(fading.reasons.some((r) => /misp_a .*last seen 7 days ago: weight ×0\.5/.test(r)));
    const stale = scoreVerdict({ observable: '45.155.205.233', evidence: [ev('misp_a', 8, 25), ev('abuseipdb', 7, 29)], now });
    assert.equal(stale.verdict, 'unknown');
    assert.ok(stale.reasons.some((r) => /misp_a .*expired: last seen 25 days ago/.test(r)));
  });

  test('a hash report of the same age still counts; without now or with decay off nothing decays', () => {
    const hash = '44d88612fea8a8f36de82e1278abb02f';
    assert.equal(scoreVerdict({ observable: hash, evidence: [ev('misp_a', 8, 25), ev('vt', 8, 25)], now }).verdict, 'malicious');
    const evidence = [ev('misp_a', 8, 25), ev('abuseipdb', 7, 29)];
    assert.equal(scoreVerdict({ observable: '45.155.205.233', evidence }).verdict, 'malicious');
    assert.equal(scoreVerdict({ observable: '45.155.205.233', evidence, now, decay: false }).verdict, 'malicious');
  });

  test('deterministic: same evidence, now and models give the same result', () => {
    const input = { observable: '45.155.205.233', evidence: [ev('misp_a', 8, 3), ev('otx', 5, 10), ev('abuseipdb', 7)], now };
    assert.deepEqual(scoreVerdict(input), scoreVerdict({ ...input, evidence: [...input.evidence].reverse() }));
  });
});
