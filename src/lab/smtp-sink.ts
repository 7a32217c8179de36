import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback that keeps what it receives, for tests of everything that sends mail.
 * It speaks plain SMTP with optional AUTH PLAIN/LOGIN (no TLS), can refuse recipients with a 5xx or
 * defer them with a 4xx, and decodes quoted-printable bodies so tests can find links in them.
 * Not exported from lab/index.ts: smtp-server is a development dependency, and the CLI's lab commands
 * load that index.
 */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as received (headers and MIME body). */
  raw: string;
  /** `raw` with quoted-printable soft breaks and escapes decoded: what a reader sees. */
  decoded: string;
  subject: string;
  messageId: string;
  authenticatedAs: string | undefined;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Recipients answered `550 mailbox unavailable`. */
  refuse(address: string): void;
  /** The next `count` messages are answered `451 try again later`. */
  deferNext(count?: number): void;
  close(): Promise<void>;
}

export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export async function startSmtpSink(options: { users?: Record<string, string> } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refused = new Set<string>();
  let defer = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: options.users === undefined,
    logger: false,
    onAuth(auth, _session, callback) {
      const expected = options.users?.[auth.username ?? ''];
      if (expected === undefined || expected !== auth.password) return callback(new Error('Invalid username or password'));
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      if (refused.has(address.address.toLowerCase())) {
        const error = new Error('mailbox unavailable') as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (defer > 0) {
          defer--;
          const error = new Error('try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          decoded: decodeQuotedPrintable(raw),
          subject: header('Subject'),
          messageId: header('Message-ID'),
          authenticatedAs: typeof session.user === 'string' ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    messages,
    refuse: (address) => void refused.add(address.toLowerCase()),
    deferNext: (count = 1) => {
      defer += count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
