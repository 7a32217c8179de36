import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeNotice, headerSafe } from './phishing-actions.ts';
import { clusterKeys } from './phishing-intake.ts';

describe('reporter notices', () => {
  test('headerSafe turns CR, LF, NUL and Unicode line separators into spaces and truncates', () => {
    assert.equal(headerSafe('Invoice\r\nBcc: evil@x.example\u2028X: 1\u0000'), 'Invoice Bcc: evil@x.example X: 1');
    assert.equal(headerSafe('a'.repeat(300), 10), `${'a'.repeat(9)}…`);
  });

  test('a subject cannot break out of the Subject line of either notice; links in reasons are defanged', () => {
    for (const template of ['acknowledgement', 'verdict'] as const) {
      const notice = composeNotice({
        template,
        reporter: 'ann@example.com\r\nBcc: evil@x.example',
        subject: 'Hi\r\nBcc: evil@x.example',
        verdict: 'malicious',
        reasons: ['links to https://evil.example/login\r\nX-Header: 1'],
        organisation: 'SOC',
      } as never);
      assert.doesNotMatch(notice.subject, /[\r\n]/);
      assert.doesNotMatch(notice.to, /[\r\n]/);
      if (template === 'verdict') {
        assert.match(notice.text, /hxxps:\/\/evil\.example/);
        assert.doesNotMatch(notice.text, /https:\/\/evil/);
        assert.match(notice.text, /Do not click/);
      }
    }
  });

  test('a safe verdict says so; a purge count is told', () => {
    const safe = composeNotice({ template: 'verdict', reporter: 'a@example.com', subject: 'News', verdict: 'graymail', reasons: [], organisation: 'SOC' });
    assert.match(safe.subject, /is safe/);
    const purged = composeNotice({
      template: 'verdict',
      reporter: 'a@example.com',
      subject: 'x',
      verdict: 'malicious',
      reasons: [],
      purged: 3,
      organisation: 'SOC',
    });
    assert.match(purged.text, /removed 3 copies/);
  });
});

describe('cluster keys', () => {
  test('URLs (refanged), hashes, and sender + subject without reply prefixes', () => {
    const keys = clusterKeys({
      subject: 'RE: Fwd:  Your   Invoice',
      from: 'billing@evil[.]example',
      observables: { urls: ['hxxps://evil[.]example/pay'], hashes: ['ABC'], domains: [], ips: [], emails: [] },
    } as never);
    assert.deepEqual(keys, ['url:https://evil.example/pay', 'sha256:abc', 'sender-subject:billing@evil.example|your invoice']);
  });
});
