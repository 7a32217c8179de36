import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRiposteError } from '../../core/index.ts';
import { analyzeReport } from './analyze-email.ts';
import { DEFAULT_EMAIL_LIMITS, parseMessage } from './parse-message.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/email/eml_analyzer');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('email parsing', () => {
  test('every eml_analyzer fixture is analysed, or refused with a RiposteError when it is not an email', async () => {
    const files = filesUnder(FIXTURES).filter((f) => !f.endsWith('SOURCE.txt'));
    assert.ok(files.length >= 70, `expected the fixture set, found ${files.length} files`);
    const notEmails = new Set(['encrypted.docx', 'macro.xls']);
    for (const file of files) {
      const name = file.split('/').pop() ?? '';
      try {
        const report = await analyzeReport(readFileSync(file));
        assert.ok(!notEmails.has(name), `${name} is not an email but was analysed as one`);
        assert.ok(report.analyses.length >= 1, name);
        for (const analysis of report.analyses) {
          assert.ok(['malicious', 'suspicious', 'spam', 'graymail', 'benign', 'simulation'].includes(analysis.verdict), name);
          assert.ok(analysis.score >= 0 && analysis.score <= 100, name);
          // Without any protected domain or trusted header, plain fixtures must not come out malicious.
          assert.notEqual(analysis.verdict, 'malicious', `${name}: ${analysis.reasons.join('; ')}`);
        }
      } catch (error) {
        assert.ok(isRiposteError(error), `${name} crashed: ${String(error)}`);
        assert.ok(notEmails.has(name), `${name} was refused: ${(error as Error).message}`);
        assert.equal(error.code, 'email.unparseable');
      }
    }
  });

  test('an Outlook .msg wrapping another .msg yields the inner message, with the report as its wrapper', async () => {
    const report = await analyzeReport(readFileSync(join(FIXTURES, 'outer.msg')));
    assert.deepEqual(report.reporter, { from: null, subject: 'outer subject', category: null });
    assert.equal(report.analyses.length, 1);
    assert.equal(report.analyses[0]?.subject, 'test');
    assert.equal(report.analyses[0]?.location, 'test.msg');
  });

  test('a message/rfc822 attachment is analysed as its own email', async () => {
    const report = await analyzeReport(readFileSync(join(FIXTURES, 'emails/attachment_emails/attachment_message_rfc822.eml')));
    assert.ok(report.reporter);
    assert.equal(report.analyses.length, 1);
    assert.ok(report.analyses[0]?.hops.length);
  });

  test('a bounce (multipart/report) is analysed as the bounce, not unwrapped', async () => {
    const report = await analyzeReport(readFileSync(join(FIXTURES, 'emails/multipart_report_emails/multi_address_bounce1.eml')));
    assert.equal(report.reporter, null);
    assert.equal(report.analyses[0]?.location, '');
  });

  test('a report carrying several emails yields one analysis each', async () => {
    const inner = (n: number) => `From: a${n}@sender${n}.example\r\nTo: b@corp.example\r\nSubject: inner ${n}\r\n\r\nbody ${n}\r\n`;
    const outer = [
      'From: reporter@corp.example',
      'To: phish@corp.example',
      'Subject: reported',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'two suspicious mails',
      ...[1, 2, 3].flatMap((n) => ['--b', 'Content-Type: message/rfc822', `Content-Disposition: attachment; filename="m${n}.eml"`, '', inner(n)]),
      '--b--',
      '',
    ].join('\r\n');
    const report = await analyzeReport(new TextEncoder().encode(outer));
    assert.deepEqual(
      report.analyses.map((a) => a.subject),
      ['inner 1', 'inner 2', 'inner 3'],
    );
    assert.equal(report.reporter?.from, 'reporter@corp.example');
    assert.equal(report.reporter?.category, null);
    const submission = await analyzeReport(new TextEncoder().encode(outer.replace('Subject: reported', 'Subject: 3|Your parcel is waiting')));
    assert.equal(submission.reporter?.category, 'phishing');
    assert.equal(submission.analyses.length, 3);
  });

  test('limits: size, part count and plain text are refused with stable codes', async () => {
    const big = new Uint8Array(2048).fill(0x41);
    await assert.rejects(parseMessage(big, { ...DEFAULT_EMAIL_LIMITS, maxBytes: 1024 }), { code: 'email.too_large' });
    const parts = Array.from({ length: 50 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const many = new TextEncoder().encode(`From: a@b.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`);
    await assert.rejects(parseMessage(many, { ...DEFAULT_EMAIL_LIMITS, maxParts: 10 }), { code: 'email.too_many_parts' });
    await assert.rejects(parseMessage(new TextEncoder().encode('just some notes\nnothing else\n')), { code: 'email.unparseable' });
    await assert.rejects(parseMessage(new Uint8Array(0)), { code: 'email.unparseable' });
  });

  test('deep MIME nesting finishes and stays bounded', async () => {
    let body = 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
    for (let i = 0; i < 200; i++) body = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${body}--n${i}--\r\n`;
    const bytes = new TextEncoder().encode(`From: a@b.example\r\nSubject: deep\r\n${body}`);
    try {
      const report = await analyzeReport(bytes);
      assert.equal(report.analyses.length, 1);
    } catch (error) {
      assert.ok(isRiposteError(error), String(error));
    }
  });

  test('fuzz: arbitrary bytes and mangled fixtures give a result or a RiposteError, never a crash', async () => {
    const seeds = ['sample.eml', 'multipart.eml', 'emails/mime_emails/raw_email_with_nested_attachment.eml', 'outer.msg', 'other.msg'].map((f) =>
      readFileSync(join(FIXTURES, f)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat({ max: 2000 }), fc.uint8Array({ maxLength: 64 })).map(([seed, at, cut, junk]) => {
            const start = at % seed.length;
            const out = new Uint8Array(seed.length - Math.min(cut, seed.length - start) + junk.length);
            out.set(seed.subarray(0, start));
            out.set(junk, start);
            out.set(seed.subarray(start + Math.min(cut, seed.length - start)), start + junk.length);
            return out;
          }),
          fc
            .array(
              fc.constantFrom(
                'From: a@b.example\r\n',
                'Content-Type: multipart/mixed; boundary="x"\r\n',
                '--x\r\n',
                '--x--\r\n',
                '\r\n',
                'Content-Transfer-Encoding: base64\r\n',
                '=?utf-8?B?',
                'Received: from x ([1.2.3.4]) by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n',
                'Content-Type: message/rfc822\r\n',
                '<a href="http://x.example">',
                'PK\u0003\u0004',
              ),
              { maxLength: 60 },
            )
            .map((chunks) => new TextEncoder().encode(chunks.join(''))),
        ),
        async (bytes) => {
          try {
            // A damaged .msg can loop the OLE reader: the worker deadline must end it.
            await analyzeReport(bytes, { limits: { msgTimeoutMs: 2000 } });
          } catch (error) {
            if (!isRiposteError(error)) throw error;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
