import { type Clock, describeError, type Logger, SYSTEM_ACTOR, systemClock } from '../core/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import { createImapReader, type ImapReader } from '../integrations/sdk/mail/index.ts';
import type { Store } from '../store/index.ts';
import { type PhishingIntake, reporterAddress, type SubmittedReport } from './phishing-intake.ts';

/**
 * Polls reporting mailboxes (where users forward suspicious mail, or the Report Message add-in sends it)
 * through an `msgraph_mail` integration instance: unread messages of the folder, each one's MIME into the
 * intake (the sender of the report is the reporter), then marked read (and moved when `move_to` is set)
 * so it is taken once. A message already taken (same mailbox and Internet Message-ID) is only marked again,
 * so a crash between "stored" and "marked read" does not file it twice.
 */
export interface MailboxSource {
  /** Integration instance name (an `msgraph_mail` instance). */
  integration: string;
  mailbox: string;
  folder: string;
  move_to?: string | undefined;
}

/** A reporting mailbox read over IMAP (config `phishing.imap`). */
export interface ImapSource {
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string;
  password_secret: string;
  mailbox: string;
  move_to?: string | undefined;
  verify_certificate: boolean;
}

export interface PollResult {
  taken: number;
  skipped: number;
  failed: number;
  reports: SubmittedReport[];
}

export class PhishingMailboxPoller {
  readonly #sources: MailboxSource[];
  readonly #imap: ImapSource[];
  readonly #secret: (name: string) => Promise<string | undefined>;
  readonly #allow: readonly string[];
  readonly #instances: () => Promise<readonly IntegrationInstance[]>;
  readonly #intake: PhishingIntake;
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(options: {
    sources: MailboxSource[];
    imap?: ImapSource[];
    /** Resolves `password_secret` names (RIPOSTE_SECRET_<NAME>). */
    secret?: (name: string) => Promise<string | undefined>;
    /** Private hosts the IMAP servers may be on (integrations.http_allow). */
    allow?: readonly string[];
    instances: () => Promise<readonly IntegrationInstance[]>;
    intake: PhishingIntake;
    store: Store;
    logger: Logger;
    intervalMs: number;
    clock?: Clock;
  }) {
    this.#sources = options.sources;
    this.#imap = options.imap ?? [];
    this.#secret = options.secret ?? (async () => undefined);
    this.#allow = options.allow ?? [];
    this.#instances = options.instances;
    this.#intake = options.intake;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs;
    this.#clock = options.clock ?? systemClock;
  }

  start(): void {
    if (this.#timer || this.#sources.length + this.#imap.length === 0) return;
    const tick = () => {
      this.#running = this.pollOnce()
        .catch((error) => this.#logger.warn({ err: describeError(error) }, 'reporting mailbox poll failed'))
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, this.#intervalMs).unref();
        });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass over every configured mailbox. */
  async pollOnce(): Promise<PollResult> {
    const result: PollResult = { taken: 0, skipped: 0, failed: 0, reports: [] };
    const instances = await this.#instances();
    for (const source of this.#sources) {
      const instance = instances.find((i) => i.name === source.integration);
      if (!instance) {
        this.#logger.warn({ integration: source.integration, mailbox: source.mailbox }, 'reporting mailbox: no such integration instance');
        continue;
      }
      await this.#pollMailbox(instance, source, result);
    }
    for (const source of this.#imap) {
      try {
        await this.#pollImap(source, result);
      } catch (error) {
        this.#logger.warn({ host: source.host, mailbox: source.mailbox, err: describeError(error) }, 'reporting mailbox (IMAP) poll failed');
      }
    }
    return result;
  }

  async #pollImap(source: ImapSource, result: PollResult): Promise<void> {
    const password = await this.#secret(source.password_secret);
    if (password === undefined) {
      this.#logger.warn({ host: source.host, secret: source.password_secret }, 'reporting mailbox (IMAP): password secret is not set');
      return;
    }
    const reader: ImapReader = createImapReader(
      {
        host: source.host,
        port: source.port,
        security: source.security,
        username: source.username,
        password,
        mailbox: source.mailbox,
        verifyCertificate: source.verify_certificate,
      },
      { allow: this.#allow },
    );
    const where = `${source.username}@${source.host}/${source.mailbox}`.toLowerCase();
    const done: number[] = [];
    for (const message of await reader.unseen()) {
      const externalId = `${where}:${message.messageId ?? `uid-${message.uid}`}`;
      try {
        if (await this.#store.phishing.hasExternal('imap', externalId)) result.skipped++;
        else {
          let reporter: string;
          try {
            reporter = reporterAddress(message.from ?? '');
          } catch {
            reporter = reporterAddress(source.username.includes('@') ? source.username : `${source.username}@${source.host}`);
          }
          const report = await this.#intake.submit(
            { content: message.source, filename: 'reported.eml', reporter, source: 'imap', externalId },
            { ...SYSTEM_ACTOR, id: `mailbox:${where}`, name: `reporting mailbox ${where}` },
          );
          result.reports.push(report);
          result.taken++;
        }
        done.push(message.uid);
      } catch (error) {
        result.failed++;
        this.#logger.warn(
          { mailbox: where, uid: message.uid, err: describeError(error) },
          'reporting mailbox (IMAP): message not taken; tried again next poll',
        );
      }
    }
    await reader.markProcessed(done, source.move_to);
  }

  async #pollMailbox(instance: IntegrationInstance, source: MailboxSource, result: PollResult): Promise<void> {
    const key = (suffix: string) => `phishing-poll:${source.mailbox}:${suffix}:${this.#clock.now()}`;
    const listed = (await instance.run('list_unread', { mailbox: source.mailbox, folder: source.folder }, { idempotencyKey: key('list') })) as {
      messages: Array<{ id: string; from: string | null; internet_message_id: string | null; subject: string }>;
    };
    for (const message of listed.messages) {
      const externalId = `${source.mailbox.toLowerCase()}:${message.internet_message_id ?? message.id}`;
      try {
        if (await this.#store.phishing.hasExternal('graph', externalId)) {
          result.skipped++;
        } else {
          let reporter: string;
          try {
            reporter = reporterAddress(message.from ?? '');
          } catch {
            // A report without a usable sender still gets analysed; the mailbox itself stands in as reporter.
            reporter = reporterAddress(source.mailbox);
          }
          const { mime } = (await instance.run('get_mime', { mailbox: source.mailbox, id: message.id }, { idempotencyKey: key(`mime:${message.id}`) })) as {
            mime: string;
          };
          const report = await this.#intake.submit(
            { content: new TextEncoder().encode(mime), filename: 'reported.eml', reporter, source: 'graph', externalId },
            { ...SYSTEM_ACTOR, id: `mailbox:${source.mailbox}`, name: `reporting mailbox ${source.mailbox}` },
          );
          result.reports.push(report);
          result.taken++;
        }
        await instance.run(
          'mark_processed',
          { mailbox: source.mailbox, id: message.id, ...(source.move_to ? { move_to: source.move_to } : {}) },
          { idempotencyKey: key(`mark:${message.id}`) },
        );
      } catch (error) {
        result.failed++;
        this.#logger.warn(
          { mailbox: source.mailbox, message: message.id, err: describeError(error) },
          'reporting mailbox: message not taken; tried again next poll',
        );
      }
    }
  }
}
