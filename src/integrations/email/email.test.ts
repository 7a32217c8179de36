import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import { type SmtpSink, startSmtpSink } from '../../lab/smtp-sink.ts';
import { createIntegrationInstance, createSmtpSender } from '../sdk/index.ts';
import email from './index.ts';

/** send_email and the SDK's SMTP sender against a real SMTP server on loopback. */
describe('email integration (SMTP)', () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink({ users: { riposte: 'mail-password-123' } });
  });
  after(() => sink.close());

  const instance = (config: Record<string, unknown> = {}, allow = ['127.0.0.1']) =>
    createIntegrationInstance(
      email,
      {
        name: 'mail',
        config: { host: sink.host, port: sink.port, security: 'none', username: 'riposte', from: 'Riposte SOC <soc@riposte.example>', ...config },
        secrets: { password: 'mail-password-123' },
      },
      { guard: { allow } },
    );

  test('send_email authenticates, delivers, and a retried step reuses the same Message-ID', async () => {
    const input = { to: 'reporter@corp.example', subject: 'We received your report', text: 'Thanks, we are looking at it.' };
    const first = (await instance().run('send_email', input, { idempotencyKey: 'run-1/ack' })) as { message_id: string; accepted: string[] };
    assert.deepEqual(first.accepted, ['reporter@corp.example']);
    const again = (await instance().run('send_email', input, { idempotencyKey: 'run-1/ack' })) as { message_id: string };
    assert.equal(again.message_id, first.message_id);
    const got = sink.messages.at(-1);
    assert.equal(got?.authenticatedAs, 'riposte');
    assert.deepEqual(got?.to, ['reporter@corp.example']);
    assert.equal(got?.subject, 'We received your report');
    assert.match(got?.decoded ?? '', /Thanks, we are looking at it\./);
  });

  test('the relay address is checked like HTTP: loopback is refused unless allow-listed', async () => {
    await assert.rejects(
      instance({}, []).run('send_email', { to: 'a@corp.example', subject: 's', text: 't' }, { idempotencyKey: 'k' }),
      (e: unknown) => e instanceof RiposteError && e.code === 'mail.blocked_address',
    );
  });

  test('wrong credentials, a refused mailbox and a deferral are distinct errors; header injection is refused', async () => {
    const sender = (password: string) =>
      createSmtpSender(
        { host: sink.host, port: sink.port, security: 'none', username: 'riposte', password, from: 'soc@riposte.example' },
        { allow: ['127.0.0.1'] },
      );
    await assert.rejects(sender('wrong').send({ to: ['a@corp.example'], subject: 's', text: 't' }), { code: 'mail.unauthorized', retryable: false });
    sink.refuse('gone@corp.example');
    await assert.rejects(sender('mail-password-123').send({ to: ['gone@corp.example'], subject: 's', text: 't' }), { code: 'mail.rejected' });
    sink.deferNext();
    await assert.rejects(sender('mail-password-123').send({ to: ['a@corp.example'], subject: 's', text: 't' }), {
      code: 'mail.unavailable',
      retryable: true,
    });
    await assert.rejects(sender('mail-password-123').send({ to: ['a@corp.example'], subject: 'hi\r\nBcc: evil@x.example', text: 't' }), {
      code: 'mail.invalid_message',
    });
    await assert.rejects(sender('mail-password-123').send({ to: ['a@corp.example\r\nBcc: x@y'], subject: 's', text: 't' }), {
      code: 'mail.invalid_message',
    });
  });
});
