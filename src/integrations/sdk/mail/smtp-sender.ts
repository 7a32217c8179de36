import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import { RiposteError } from '../../../core/index.ts';
import { AllowList, isBlockedAddress } from '../http/index.ts';

/**
 * Outbound e-mail over SMTP (nodemailer), shared by the approval e-mail channel and the `email`
 * integration's `send_email` action (and so by anything that tells a person something by mail, such as
 * phishing reporters' acknowledgements). The relay's host is resolved here and checked against the same
 * address guard as outbound HTTP, then the connection is made to the checked address (TLS still verifies
 * the certificate against the host name), so DNS cannot swap an internal address in between.
 *
 * Errors are stable codes: `mail.blocked_address`, `mail.invalid_message`, `mail.unauthorized` (bad
 * credentials, not retryable), `mail.rejected` (a 5xx answer, not retryable), `mail.unavailable` (a 4xx
 * answer: try later), `mail.network` (no connection, timeouts).
 */
export type SmtpSecurity = 'tls' | 'starttls' | 'opportunistic' | 'none';

export interface SmtpSettings {
  host: string;
  port: number;
  /**
   * `tls`: implicit TLS (port 465); `starttls`: plain then STARTTLS, refusing relays without it (587);
   * `opportunistic`: STARTTLS when offered; `none`: never TLS (a loopback relay or a test server).
   */
  security: SmtpSecurity;
  username?: string;
  password?: string;
  /** The From address ("Riposte <soc@example.com>"). */
  from: string;
  /** Verify the relay's certificate (default true). */
  verifyCertificate?: boolean;
  /** Connection, greeting and socket timeouts (default 15 s). */
  timeoutMs?: number;
}

export interface MailMessage {
  to: readonly string[];
  cc?: readonly string[];
  subject: string;
  text: string;
  html?: string;
  /** Threading: a follow-up names the first message it answers. */
  inReplyTo?: string;
  references?: readonly string[];
  /** Set to make a retried send recognisable as the same message ("<id@host>"). */
  messageId?: string;
  /** Extra headers (X-…); names and values without line breaks. */
  headers?: Readonly<Record<string, string>>;
}

export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The relay's final answer ("250 OK queued as …"). */
  response: string;
}

export interface SmtpSender {
  send(message: MailMessage): Promise<SentMail>;
}

export interface SmtpSenderOptions {
  /** Private addresses or host names the relay may be on (config `integrations.http_allow`). */
  allow?: readonly string[];
  /** Name resolution, replaceable in tests. */
  resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>;
}

/** An addr-spec, optionally with a display name: no line breaks, one @, no spaces in the address. */
const ADDRESS = /^(?:[^<>\r\n]{0,200}<)?[^\s@<>"(),;:]{1,64}@[A-Za-z0-9.-]{1,253}>?$/;

function invalid(message: string): RiposteError {
  return new RiposteError('mail.invalid_message', message, { status: 400 });
}

export function checkMailAddress(address: string, field: string): string {
  const trimmed = address.trim();
  if (!ADDRESS.test(trimmed)) throw invalid(`${field}: ${JSON.stringify(address.slice(0, 100))} is not an e-mail address`);
  return trimmed;
}

function checkMessage(message: MailMessage): void {
  if (message.to.length === 0) throw invalid('to: at least one recipient is needed');
  message.to.forEach((a, i) => void checkMailAddress(a, `to[${i}]`));
  (message.cc ?? []).forEach((a, i) => void checkMailAddress(a, `cc[${i}]`));
  if (/[\r\n]/.test(message.subject)) throw invalid('subject: must be one line');
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!/^X-[A-Za-z0-9-]{1,60}$/.test(name)) throw invalid(`headers: ${JSON.stringify(name)} is not an X- header name`);
    if (/[\r\n]/.test(value)) throw invalid(`headers.${name}: must be one line`);
  }
}

export function createSmtpSender(settings: SmtpSettings, options: SmtpSenderOptions = {}): SmtpSender {
  const allow = new AllowList(options.allow ?? []);
  const resolve = options.resolve ?? ((host: string) => dnsLookup(host, { all: true, verbatim: true }));
  const from = checkMailAddress(settings.from, 'from');
  const timeout = settings.timeoutMs ?? 15_000;

  async function checkedAddress(): Promise<string> {
    const host = settings.host.replace(/^\[|\]$/g, '');
    const literal = isIP(host);
    let addresses: Array<{ address: string }>;
    if (literal !== 0) addresses = [{ address: host }];
    else {
      try {
        addresses = await resolve(host);
      } catch (error) {
        throw new RiposteError('mail.network', `cannot resolve the SMTP relay ${host}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
          retryable: true,
          cause: error,
        });
      }
      if (addresses.length === 0) throw new RiposteError('mail.network', `cannot resolve the SMTP relay ${host}: no addresses`, { retryable: true });
    }
    for (const { address } of addresses) {
      if (isBlockedAddress(address) && !allow.allowsHost(host) && !allow.allowsAddress(address)) {
        throw new RiposteError(
          'mail.blocked_address',
          `refusing to connect to the SMTP relay ${host}${literal ? '' : ` (${address})`}: private, loopback, link-local or metadata address; allow-list it (integrations.http_allow) if it is intended`,
          { status: 400, details: { host, address } },
        );
      }
    }
    return (addresses[0] as { address: string }).address;
  }

  return {
    async send(message) {
      checkMessage(message);
      const address = await checkedAddress();
      const transport = nodemailer.createTransport({
        host: address,
        port: settings.port,
        secure: settings.security === 'tls',
        requireTLS: settings.security === 'starttls',
        ignoreTLS: settings.security === 'none',
        ...(settings.username ? { auth: { user: settings.username, pass: settings.password ?? '' } } : {}),
        // The certificate is checked against the name, though the socket goes to the checked address.
        tls: { servername: isIP(settings.host) ? undefined : settings.host, rejectUnauthorized: settings.verifyCertificate ?? true },
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      try {
        const info = await transport.sendMail({
          from,
          to: [...message.to],
          ...(message.cc ? { cc: [...message.cc] } : {}),
          subject: message.subject,
          text: message.text,
          ...(message.html ? { html: message.html } : {}),
          ...(message.messageId ? { messageId: message.messageId } : {}),
          ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
          ...(message.references ? { references: [...message.references] } : {}),
          ...(message.headers ? { headers: { ...message.headers } } : {}),
        });
        const list = (v: unknown) => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address))) : []);
        return { messageId: String(info.messageId), accepted: list(info.accepted), rejected: list(info.rejected), response: String(info.response ?? '') };
      } catch (error) {
        throw mailError(error, settings.host);
      } finally {
        transport.close();
      }
    },
  };
}

function mailError(error: unknown, host: string): RiposteError {
  if (error instanceof RiposteError) return error;
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  const answer = (e.response ?? e.message ?? String(error)).replace(/\s+/g, ' ').slice(0, 300);
  if (e.code === 'EAUTH') return new RiposteError('mail.unauthorized', `SMTP relay ${host} refused the credentials: ${answer}`, { cause: error });
  if (typeof e.responseCode === 'number' && e.responseCode >= 500)
    return new RiposteError('mail.rejected', `SMTP relay ${host} rejected the message (${e.responseCode}): ${answer}`, { cause: error });
  if (typeof e.responseCode === 'number' && e.responseCode >= 400)
    return new RiposteError('mail.unavailable', `SMTP relay ${host} deferred the message (${e.responseCode}): ${answer}`, { retryable: true, cause: error });
  return new RiposteError('mail.network', `SMTP relay ${host} could not be reached: ${e.code ?? ''} ${answer}`.replace(/\s+/g, ' '), {
    retryable: true,
    cause: error,
  });
}
