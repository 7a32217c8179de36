import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideVerdict, signal } from './verdict.ts';

const base = { spamScore: 0, bulk: false, simulation: undefined };

describe('verdict', () => {
  test('one weak signal alone decides nothing (a missing or failing SPF is common in real mail)', () => {
    assert.equal(decideVerdict({ ...base, signals: [signal('spf_fail', 'auth', 10, 'SPF fails')] }).verdict, 'benign');
    assert.equal(decideVerdict({ ...base, signals: [signal('reply_to_mismatch', 'sender', 30, 'r')] }).verdict, 'benign');
  });

  test('one strong signal makes a message suspicious, never malicious on its own', () => {
    const outcome = decideVerdict({ ...base, signals: [signal('macro', 'attachment', 90, 'macro')] });
    assert.equal(outcome.verdict, 'suspicious');
    assert.deepEqual(outcome.techniques, ['T1566.001']);
  });

  test('several signals reaching 70 with a strong one make it malicious, tagged by delivery', () => {
    const outcome = decideVerdict({
      ...base,
      signals: [signal('lookalike_link_domain', 'link', 50, 'l'), signal('link_text_mismatch', 'link', 30, 'm')],
    });
    assert.deepEqual([outcome.verdict, outcome.score, outcome.techniques], ['malicious', 80, ['T1566.002']]);
  });

  test('repeating one kind of signal does not add up to malicious', () => {
    const many = Array.from({ length: 10 }, () => signal('link_text_mismatch', 'link', 30, 'm'));
    assert.equal(decideVerdict({ ...base, signals: many }).verdict, 'benign');
  });

  test('simulation, spam and graymail', () => {
    assert.equal(decideVerdict({ ...base, simulation: 'X-Sim: 1', signals: [signal('lookalike_link_domain', 'link', 50, 'l')] }).verdict, 'simulation');
    assert.equal(decideVerdict({ ...base, spamScore: 30, signals: [] }).verdict, 'spam');
    assert.equal(decideVerdict({ ...base, bulk: true, signals: [] }).verdict, 'graymail');
  });
});
