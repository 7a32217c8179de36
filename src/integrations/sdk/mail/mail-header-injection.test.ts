import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { recordFigure } from '../../../../test/campaign-figures.ts';
import { RiposteError } from '../../../core/index.ts';
import { type SmtpSink, startSmtpSink } from '../../../lab/smtp-sink.ts';
import { checkMailAddress, createSmtpSender } from './index.ts';

/**
 * Header injection in anything Riposte e-mails (approval requests, the send_email action): a line break
 * in a subject, an address or an extra header must be refused before a byte goes to the relay, and fields
 * that are not checked up front (threading ids) must be encoded so no new header line appears. Each case
 * tries to smuggle `Bcc: smuggled@evil.example`; the real SMTP sink shows whether it arrived.
 */
const INJECTED = 'Bcc: smuggled@evil.example';
const breaks = fc.constantFrom('\r\n', '\n', '\r', '\r\n ', '\n\t', '%0d%0a', '\u2028', '\u0085');
const injected = fc.tuple(fc.string({ maxLength: 12 }), breaks).map(([text, br]) => `${text}${br}${INJECTED}`);

describe('mail header injection', () => {
  let sink: SmtpSink;
  let sender: ReturnType<typeof createSmtpSender>;
  let delivered = 0;

  before(async () => {
    sink = await startSmtpSink();
    sender = createSmtpSender({ host: sink.host, port: sink.port, security: 'none', from: 'Riposte <soc@example.com>' }, { allow: [sink.host] });
  });
  after(async () => {
    await sink.close();
  });

  /** True when the message that arrived has the smuggled header as a header line of its own. */
  function smuggledHeader(): boolean {
    const last = sink.messages.at(-1);
    if (!last) return false;
    const head = last.raw.split(/\r?\n\r?\n/)[0] ?? '';
    // Lines as SMTP sees them (CRLF or LF); a line that starts with whitespace folds into the previous header.
    return head.split(/\r?\n/).some((line) => /^bcc:/i.test(line)) || last.to.some((a) => a.includes('evil.example'));
  }

  async function attempt(message: Parameters<typeof sender.send>[0]): Promise<'refused' | 'sent'> {
    const before = sink.messages.length;
    try {
      await sender.send(message);
    } catch (error) {
      assert.ok(error instanceof RiposteError, `${(error as Error).name}: ${(error as Error).message}`);
      assert.equal(error.code, 'mail.invalid_message', error.message);
      assert.equal(sink.messages.length, before, 'a refused message reached the relay');
      return 'refused';
    }
    delivered++;
    assert.equal(sink.messages.length, before + 1);
    assert.equal(smuggledHeader(), false, `a header was injected: ${JSON.stringify(message).slice(0, 300)}`);
    return 'sent';
  }

  test('line breaks in subject, recipients and extra headers are refused before sending', async () => {
    let fuzzed = 0;
    await fc.assert(
      fc.asyncProperty(injected, fc.constantFrom('subject', 'to', 'cc', 'header'), async (value, field) => {
        fuzzed++;
        const base = { to: ['analyst@example.com'], subject: 'hello', text: 'body' };
        const message =
          field === 'subject'
            ? { ...base, subject: value }
            : field === 'to'
              ? { ...base, to: [`analyst@example.com${value}`] }
              : field === 'cc'
                ? { ...base, cc: [`${value} <cc@example.com>`] }
                : { ...base, headers: { 'X-Riposte-Approval': value } };
        const outcome = await attempt(message);
        // CR/LF inside a value is refused outright (addresses are trimmed first, so only interior breaks
        // count there); other separators may be sent, encoded — attempt() has checked no header appeared.
        const checked =
          field === 'subject' ? value : field === 'to' ? `analyst@example.com${value}`.trim() : field === 'cc' ? `${value} <cc@example.com>`.trim() : value;
        if (/[\r\n]/.test(checked)) assert.equal(outcome, 'refused', `${field} with a line break was sent`);
      }),
      { numRuns: 60 },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
  });

  test('threading ids (Message-ID, In-Reply-To, References) cannot add a header line', async () => {
    let fuzzed = 0;
    await fc.assert(
      fc.asyncProperty(injected, fc.constantFrom('messageId', 'inReplyTo', 'references'), async (value, field) => {
        fuzzed++;
        const base = { to: ['analyst@example.com'], subject: 'thread', text: 'body' };
        const message = field === 'references' ? { ...base, references: [`<a@b>${value}`] } : { ...base, [field]: `<id@host>${value}` };
        await attempt(message);
      }),
      { numRuns: 40 },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
    assert.ok(delivered >= 0);
  });

  test('checkMailAddress refuses addresses carrying a second address or a header', () => {
    for (const address of [
      'a@example.com\r\nBcc: x@evil.example',
      'a@example.com, b@evil.example',
      'a@example.com;b@evil.example',
      'Name\n<a@example.com>',
      '"x"@example.com',
    ]) {
      assert.throws(() => checkMailAddress(address, 'to[0]'), /is not an e-mail address/, JSON.stringify(address));
    }
    assert.equal(checkMailAddress(' SOC Desk <soc@example.com> ', 'to[0]'), 'SOC Desk <soc@example.com>');
  });
});
