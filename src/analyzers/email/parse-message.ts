import { Worker } from 'node:worker_threads';
import PostalMime, { type Address, type Email, type Mailbox } from 'postal-mime';
import { RiposteError } from '../../core/index.ts';

/**
 * Turns the bytes of an .eml (RFC 5322/MIME) or an Outlook .msg into one shape the analysis reads.
 * Every input is bounded before the parser sees it: size, MIME nesting and part count, so a hostile
 * message yields a RiposteError with a stable code instead of exhausting memory or time.
 */

export interface EmailLimits {
  /** Largest input accepted, in bytes (default 40 MiB: a 25 MB attachment grows by a third in base64). */
  maxBytes: number;
  /** Deepest MIME multipart nesting and message-in-message depth followed. */
  maxDepth: number;
  /** Most MIME parts in one message. */
  maxParts: number;
  /** Most entries read from one archive (zip, OOXML) before the rest is skipped. */
  maxArchiveEntries: number;
  /** Most bytes inflated from archives of one message, all together (zip-bomb guard). */
  maxExpandedBytes: number;
  /** Deepest archive-in-archive nesting followed. */
  maxArchiveDepth: number;
  /** How long reading one Outlook .msg may take (it runs in a worker that is stopped at the deadline). */
  msgTimeoutMs: number;
}

export const DEFAULT_EMAIL_LIMITS: EmailLimits = {
  maxBytes: 40 * 1024 * 1024,
  maxDepth: 8,
  maxParts: 500,
  maxArchiveEntries: 1000,
  maxExpandedBytes: 64 * 1024 * 1024,
  maxArchiveDepth: 3,
  msgTimeoutMs: 10_000,
};

export interface MailboxAddress {
  name: string;
  address: string;
}

export interface ParsedAttachment {
  filename: string;
  mimeType: string;
  disposition: string | null;
  content: Uint8Array;
  /** An Outlook embedded message (attach method 5): its content is a .msg file. */
  embeddedMsg?: boolean;
}

export interface ParsedEmail {
  format: 'eml' | 'msg';
  /** Header fields in order, names in lower case, values unfolded. */
  headers: Array<{ key: string; value: string }>;
  from: MailboxAddress[];
  sender: MailboxAddress | undefined;
  replyTo: MailboxAddress[];
  returnPath: string | undefined;
  to: MailboxAddress[];
  cc: MailboxAddress[];
  subject: string;
  date: string | undefined;
  messageId: string | undefined;
  text: string;
  html: string;
  attachments: ParsedAttachment[];
  /** The original bytes of an .eml, for signature verification (DKIM hashes the exact body). */
  raw: Uint8Array | undefined;
}

const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const HEADER_NAMES_THAT_MAKE_AN_EMAIL = new Set([
  'from',
  'to',
  'subject',
  'date',
  'received',
  'message-id',
  'return-path',
  'mime-version',
  'sender',
  'reply-to',
  'delivered-to',
]);

/** Outlook keeps every MAPI property in "__substg1.0_…" streams; other OLE files (.doc, .xls) have none. */
const SUBSTORAGE_MARK = Buffer.from('__substg1.0_', 'utf16le');

export function isOleFile(bytes: Uint8Array): boolean {
  return OLE_MAGIC.every((b, i) => bytes[i] === b);
}

function flattenAddresses(list: Address | Address[] | undefined): MailboxAddress[] {
  if (!list) return [];
  const out: MailboxAddress[] = [];
  for (const item of Array.isArray(list) ? list : [list]) {
    if (item.group) for (const member of item.group) out.push(mailbox(member));
    else out.push(mailbox(item as Mailbox));
  }
  return out;
}

function mailbox(item: Mailbox): MailboxAddress {
  return { name: (item.name ?? '').trim(), address: (item.address ?? '').trim().toLowerCase() };
}

function toBytes(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === 'string') return new TextEncoder().encode(content);
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

/**
 * Counts MIME part headers cheaply before parsing: every part starts with its own Content-Type (or
 * inherits text/plain), so boundary lines are a close upper bound on parts.
 */
function countBoundaryLines(bytes: Uint8Array, stopAt: number): number {
  let count = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d && (i === 0 || bytes[i - 1] === 0x0a)) {
      count++;
      if (count > stopAt) return count;
    }
  }
  return count;
}

export function tooLarge(what: string, size: number, limit: number): RiposteError {
  return new RiposteError('email.too_large', `${what} is ${size} bytes, over the limit of ${limit} bytes`, {
    status: 413,
    details: { size, limit },
  });
}

/** Parses an .eml or .msg; throws RiposteError (email.*) for input that is not a message or breaks a limit. */
export async function parseMessage(bytes: Uint8Array, limits: EmailLimits = DEFAULT_EMAIL_LIMITS): Promise<ParsedEmail> {
  if (bytes.length > limits.maxBytes) throw tooLarge('the message', bytes.length, limits.maxBytes);
  if (bytes.length === 0) throw new RiposteError('email.unparseable', 'the file is empty, not an email', { status: 422 });
  if (isOleFile(bytes)) return parseMsg(bytes, limits);
  return parseEml(bytes, limits);
}

async function parseEml(bytes: Uint8Array, limits: EmailLimits): Promise<ParsedEmail> {
  // Boundaries are "--" at a line start; bodies of text parts can hold some too, hence the 4x slack.
  const boundaries = countBoundaryLines(bytes, limits.maxParts * 4);
  if (boundaries > limits.maxParts * 4) {
    throw new RiposteError('email.too_many_parts', `the message has more than ${limits.maxParts} MIME parts`, {
      status: 422,
      details: { limit: limits.maxParts },
    });
  }
  let email: Email;
  try {
    email = await PostalMime.parse(bytes, {
      // Attached messages stay attachments so each can be analysed on its own (reported-mail wrappers).
      forceRfc822Attachments: true,
      attachmentEncoding: 'arraybuffer',
      maxNestingDepth: limits.maxDepth * 4,
      maxHeadersSize: 2 * 1024 * 1024,
    });
  } catch (error) {
    throw new RiposteError('email.unparseable', `the message could not be parsed as MIME: ${(error as Error)?.message ?? String(error)}`, {
      status: 422,
      cause: error,
    });
  }
  const headers = email.headers.map((h) => ({ key: h.key.toLowerCase(), value: h.value }));
  if (!headers.some((h) => HEADER_NAMES_THAT_MAKE_AN_EMAIL.has(h.key))) {
    throw new RiposteError('email.unparseable', 'the file has no email header fields (From, To, Subject, Date, Received…): not an email', {
      status: 422,
    });
  }
  if (email.attachments.length > limits.maxParts) {
    throw new RiposteError('email.too_many_parts', `the message has ${email.attachments.length} attachments, over the limit of ${limits.maxParts}`, {
      status: 422,
      details: { limit: limits.maxParts },
    });
  }
  const sender = flattenAddresses(email.sender)[0];
  return {
    format: 'eml',
    headers,
    from: flattenAddresses(email.from),
    sender,
    replyTo: flattenAddresses(email.replyTo),
    returnPath: email.returnPath?.trim().toLowerCase() || undefined,
    to: flattenAddresses(email.to),
    cc: flattenAddresses(email.cc),
    subject: email.subject ?? '',
    date: email.date,
    messageId: email.messageId,
    text: email.text ?? '',
    html: email.html ?? '',
    attachments: email.attachments.map((a) => ({
      filename: a.filename ?? '',
      mimeType: (a.mimeType ?? 'application/octet-stream').toLowerCase(),
      disposition: a.disposition,
      content: toBytes(a.content),
    })),
    raw: bytes,
  };
}

interface MsgFields {
  subject?: string;
  senderName?: string;
  senderEmail?: string;
  senderSmtpAddress?: string;
  body?: string;
  bodyHtml?: string;
  html?: Uint8Array;
  headers?: string;
  recipients?: Array<{ name?: string; email?: string; smtpAddress?: string }>;
  messageDeliveryTime?: string;
  clientSubmitTime?: string;
  error?: string;
}

interface MsgExtract {
  ok: boolean;
  message?: string;
  fields: MsgFields;
  attachments: Array<{ filename: string; mimeType: string; content: Uint8Array; embedded: boolean }>;
}

const MSG_WORKER = new URL('./msg-worker.ts', import.meta.url);

/** Runs the .msg reader in a worker with a deadline and a heap cap (see msg-worker.ts for why). */
function extractMsg(bytes: Uint8Array, limits: EmailLimits): Promise<MsgExtract> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(MSG_WORKER, {
      workerData: bytes,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(128, Math.ceil((limits.maxBytes * 8) / 1024 / 1024)) },
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new RiposteError('email.unparseable', `the Outlook .msg could not be read within ${limits.msgTimeoutMs} ms (damaged file?)`, { status: 422 })),
        ),
      limits.msgTimeoutMs,
    );
    worker.once('message', (result: MsgExtract) => finish(() => resolve(result)));
    worker.once('error', (error) =>
      finish(() => reject(new RiposteError('email.unparseable', `the Outlook .msg could not be read: ${error.message}`, { status: 422, cause: error }))),
    );
    worker.once('exit', () =>
      finish(() => reject(new RiposteError('email.unparseable', 'the Outlook .msg reader stopped before finishing (damaged file?)', { status: 422 }))),
    );
  });
}

async function parseMsg(bytes: Uint8Array, limits: EmailLimits): Promise<ParsedEmail> {
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(SUBSTORAGE_MARK)) {
    throw new RiposteError('email.unparseable', 'the file is an OLE document (Word, Excel…) but not an Outlook message', { status: 422 });
  }
  const extract = await extractMsg(bytes, limits);
  if (!extract.ok || extract.fields.error) {
    throw new RiposteError('email.unparseable', `the Outlook .msg could not be read: ${extract.message ?? extract.fields.error}`, { status: 422 });
  }
  const fields = extract.fields;
  // Transport headers, when Outlook kept them, carry Received, Authentication-Results and the real From.
  const fromHeaders = fields.headers ? await parseHeaderBlock(fields.headers) : undefined;
  if (extract.attachments.length > limits.maxParts) {
    throw new RiposteError('email.too_many_parts', `the message has ${extract.attachments.length} attachments, over the limit of ${limits.maxParts}`, {
      status: 422,
      details: { limit: limits.maxParts },
    });
  }
  const attachments: ParsedAttachment[] = extract.attachments.map((a) => ({
    filename: a.embedded && !/\.msg$/i.test(a.filename) ? `${a.filename}.msg` : a.filename,
    mimeType: a.mimeType,
    disposition: 'attachment',
    content: a.content,
    embeddedMsg: a.embedded,
  }));
  const senderAddress = (fields.senderSmtpAddress || fields.senderEmail || '').toLowerCase();
  const fallbackFrom = senderAddress.includes('@') ? [{ name: fields.senderName ?? '', address: senderAddress }] : [];
  const recipients = (fields.recipients ?? []).map((r) => ({ name: r.name ?? '', address: (r.smtpAddress || r.email || '').toLowerCase() }));
  const html = fields.bodyHtml ?? (fields.html ? new TextDecoder().decode(fields.html) : '');
  return {
    format: 'msg',
    headers: fromHeaders?.headers ?? [],
    from: fromHeaders?.from.length ? fromHeaders.from : fallbackFrom,
    sender: fromHeaders?.sender,
    replyTo: fromHeaders?.replyTo ?? [],
    returnPath: fromHeaders?.returnPath,
    to: fromHeaders?.to.length ? fromHeaders.to : recipients,
    cc: fromHeaders?.cc ?? [],
    subject: fields.subject ?? fromHeaders?.subject ?? '',
    date: fromHeaders?.date ?? fields.clientSubmitTime ?? fields.messageDeliveryTime,
    messageId: fromHeaders?.messageId,
    text: fields.body ?? '',
    html,
    attachments,
    raw: undefined,
  };
}

async function parseHeaderBlock(block: string): Promise<ParsedEmail | undefined> {
  try {
    const email = await PostalMime.parse(`${block.replace(/\r?\n$/, '')}\r\n\r\n`);
    return {
      format: 'eml',
      headers: email.headers.map((h) => ({ key: h.key.toLowerCase(), value: h.value })),
      from: flattenAddresses(email.from),
      sender: flattenAddresses(email.sender)[0],
      replyTo: flattenAddresses(email.replyTo),
      returnPath: email.returnPath?.trim().toLowerCase() || undefined,
      to: flattenAddresses(email.to),
      cc: flattenAddresses(email.cc),
      subject: email.subject ?? '',
      date: email.date,
      messageId: email.messageId,
      text: '',
      html: '',
      attachments: [],
      raw: undefined,
    };
  } catch {
    return undefined;
  }
}

/** Values of one header field, top (newest) first. */
export function headerValues(email: ParsedEmail, name: string): string[] {
  const key = name.toLowerCase();
  return email.headers.filter((h) => h.key === key).map((h) => h.value);
}
