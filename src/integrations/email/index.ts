/**
 * E-mail over SMTP: `send_email` tells a person something (a phishing reporter's acknowledgement and
 * verdict, a notice to an asset owner). Built on the SDK's SMTP sender, so the relay passes the same
 * address guard as HTTP integrations. The Message-ID is derived from the step's idempotency key: a
 * retried step re-sends the same message id, which receiving systems and people can recognise.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration } from '../sdk/index.ts';

const addressList = z.union([z.string().min(3), z.array(z.string().min(3)).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v]));

const SendEmailInput = z
  .object({
    to: addressList,
    cc: addressList.optional(),
    subject: z.string().min(1).max(998),
    text: z.string().max(1_000_000),
    html: z.string().max(2_000_000).optional(),
    /** Message-ID of the message this one answers (a reply to the reporter's report). */
    in_reply_to: z.string().max(998).optional(),
  })
  .strict();

const SendEmailOutput = z.object({ message_id: z.string(), accepted: z.array(z.string()), rejected: z.array(z.string()), response: z.string() });

export default defineIntegration({
  id: 'email',
  title: 'E-mail (SMTP)',
  description: 'Sends e-mail through an SMTP relay (STARTTLS or implicit TLS, optional authentication).',
  config: z
    .object({
      /** The relay (unset only in the unconfigured placeholder instance every product gets). */
      host: z.string().min(1).optional(),
      port: z.coerce.number().int().min(1).max(65535).default(587),
      security: z.enum(['tls', 'starttls', 'opportunistic', 'none']).default('starttls'),
      /** Unset: the relay takes mail without authentication (the password secret is then ignored). */
      username: z.string().min(1).optional(),
      from: z.string().min(3).optional(),
      verifyCertificate: z.boolean().default(true),
      timeoutMs: z.coerce.number().int().min(1000).max(120_000).default(15_000),
    })
    .strict(),
  secrets: { password: 'SMTP password (any placeholder such as "-" when config.username is unset)' },
  rateLimit: { perMinute: 120 },
  actions: {
    send_email: action({
      title: 'Send an e-mail',
      impact: 'write',
      input: SendEmailInput,
      output: SendEmailOutput,
      async run({ input, config, secrets, smtp, idempotencyKey, instance }) {
        if (!config.host || !config.from) {
          throw new RiposteError(
            'integration.not_configured',
            `${instance}: set config.host and config.from (riposte integrations add ${instance} --product email --set host=… --set from=…)`,
          );
        }
        const sender = smtp({
          host: config.host as string,
          port: config.port as number,
          security: config.security as 'tls' | 'starttls' | 'opportunistic' | 'none',
          ...(config.username ? { username: config.username as string, password: secrets.password } : {}),
          from: config.from as string,
          verifyCertificate: config.verifyCertificate as boolean,
          timeoutMs: config.timeoutMs as number,
        });
        const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(config.from as string)?.[1] ?? 'riposte.invalid';
        const sent = await sender.send({
          to: input.to,
          ...(input.cc ? { cc: input.cc } : {}),
          subject: input.subject,
          text: input.text,
          ...(input.html ? { html: input.html } : {}),
          ...(input.in_reply_to ? { inReplyTo: input.in_reply_to, references: [input.in_reply_to] } : {}),
          messageId: `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`,
        });
        return { message_id: sent.messageId, accepted: sent.accepted, rejected: sent.rejected, response: sent.response };
      },
    }),
  },
});
