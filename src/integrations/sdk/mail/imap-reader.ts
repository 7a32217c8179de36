import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ImapFlow } from 'imapflow';
import { RiposteError } from '../../../core/index.ts';
import { AllowList, isBlockedAddress } from '../http/index.ts';

/**
 * Reads a reporting mailbox over IMAP (imapflow): the unseen messages of a folder with their raw source,
 * then marks them seen and optionally moves them. The server passes the same address guard as outbound
 * HTTP and SMTP (private and loopback addresses only when allow-listed), and the connection goes to the
 * checked address.
 */
export interface ImapSettings {
  host: string;
  port: number;
  /** `tls`: implicit TLS (993); `starttls`: plain then STARTTLS (143); `none`: never TLS (a loopback test server). */
  security: 'tls' | 'starttls' | 'none';
  username: string;
  password: string;
  mailbox: string;
  verifyCertificate?: boolean;
  timeoutMs?: number;
}

export interface ImapMessage {
  uid: number;
  from: string | null;
  messageId: string | null;
  source: Uint8Array;
}

export interface ImapReader {
  /** Unseen messages of the folder (at most `limit`, lowest UIDs first). */
  unseen(limit?: number): Promise<ImapMessage[]>;
  /** Marks messages seen, then moves them to `moveTo` when given. */
  markProcessed(uids: number[], moveTo?: string): Promise<void>;
}

export function createImapReader(settings: ImapSettings, options: { allow?: readonly string[] } = {}): ImapReader {
  const allow = new AllowList(options.allow ?? []);
  const host = settings.host.replace(/^\[|\]$/g, '');

  async function checkedAddress(): Promise<string> {
    let address = host;
    if (isIP(host) === 0) {
      try {
        address = (await dnsLookup(host)).address;
      } catch (error) {
        throw new RiposteError('mail.network', `cannot resolve the IMAP server ${host}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
          retryable: true,
          cause: error,
        });
      }
    }
    if (isBlockedAddress(address) && !allow.allowsHost(host) && !allow.allowsAddress(address))
      throw new RiposteError(
        'mail.blocked_address',
        `refusing to connect to the IMAP server ${host} (${address}): private, loopback, link-local or metadata address; allow-list it (integrations.http_allow) if it is intended`,
        { status: 400, details: { host, address } },
      );
    return address;
  }

  async function session<T>(work: (client: ImapFlow) => Promise<T>): Promise<T> {
    const address = await checkedAddress();
    const client = new ImapFlow({
      host: address,
      port: settings.port,
      secure: settings.security === 'tls',
      doSTARTTLS: settings.security === 'starttls' ? true : settings.security === 'none' ? false : undefined,
      auth: { user: settings.username, pass: settings.password },
      logger: false,
      tls: { servername: isIP(host) === 0 ? host : undefined, rejectUnauthorized: settings.verifyCertificate ?? true },
      connectionTimeout: settings.timeoutMs ?? 15_000,
      greetingTimeout: settings.timeoutMs ?? 15_000,
      socketTimeout: (settings.timeoutMs ?? 15_000) * 4,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      const auth = (error as { authenticationFailed?: boolean }).authenticationFailed;
      // The password never goes into the message.
      throw new RiposteError(
        auth ? 'mail.unauthorized' : 'mail.network',
        `IMAP ${host}:${settings.port}: ${auth ? 'the server refused the credentials' : String((error as Error).message)}`,
        {
          retryable: !auth,
        },
      );
    }
    try {
      const lock = await client.getMailboxLock(settings.mailbox);
      try {
        return await work(client);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => {});
    }
  }

  return {
    unseen(limit = 50) {
      return session(async (client) => {
        const found = await client.search({ seen: false }, { uid: true });
        const uids = (Array.isArray(found) ? found : []).sort((a, b) => a - b).slice(0, limit);
        if (uids.length === 0) return [];
        const out: ImapMessage[] = [];
        for await (const m of client.fetch(uids, { uid: true, source: true, envelope: true }, { uid: true })) {
          out.push({
            uid: m.uid,
            from: m.envelope?.from?.[0]?.address ?? null,
            messageId: m.envelope?.messageId ?? null,
            source: new Uint8Array(m.source ?? Buffer.alloc(0)),
          });
        }
        return out;
      });
    },
    markProcessed(uids, moveTo) {
      if (uids.length === 0) return Promise.resolve();
      return session(async (client) => {
        await client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
        if (moveTo) await client.messageMove(uids, moveTo, { uid: true });
      });
    },
  };
}
