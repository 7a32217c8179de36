import { parentPort, workerData } from 'node:worker_threads';
import MsgReaderModule from '@kenjiuno/msgreader';

/**
 * Reads an Outlook .msg in a worker thread. The OLE reader is synchronous and a damaged file can send it
 * into an endless loop or a huge allocation; in a worker, the caller's timeout and heap limit end it.
 */
interface MsgFieldsLike {
  attachments?: MsgFieldsLike[];
  innerMsgContent?: true;
  innerMsgContentFields?: unknown;
  fileName?: string;
  name?: string;
  attachMimeTag?: string;
  html?: Uint8Array;
  [key: string]: unknown;
}

interface MsgReaderLike {
  getFileData(): MsgFieldsLike;
  getAttachment(attach: MsgFieldsLike): { fileName: string; content: Uint8Array };
}

const MsgReader = ((MsgReaderModule as unknown as { default?: unknown }).default ?? MsgReaderModule) as new (buffer: ArrayBuffer) => MsgReaderLike;

const bytes = workerData as Uint8Array;
try {
  const reader = new MsgReader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const fields = reader.getFileData();
  const attachments: Array<{ filename: string; mimeType: string; content: Uint8Array; embedded: boolean }> = [];
  for (const meta of fields.attachments ?? []) {
    try {
      const data = reader.getAttachment(meta);
      const embedded = meta.innerMsgContent === true;
      attachments.push({
        filename: data.fileName || meta.fileName || meta.name || (embedded ? 'embedded.msg' : ''),
        mimeType: embedded ? 'application/vnd.ms-outlook' : String(meta.attachMimeTag ?? 'application/octet-stream').toLowerCase(),
        content: data.content,
        embedded,
      });
    } catch {
      // One unreadable attachment stream must not hide the rest of the message.
    }
  }
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'attachments' || key === 'innerMsgContentFields') continue;
    if (typeof value === 'string' || value instanceof Uint8Array) plain[key] = value;
    if (key === 'recipients' && Array.isArray(value))
      plain[key] = value.map((r: Record<string, unknown>) => ({ name: r.name, email: r.email, smtpAddress: r.smtpAddress }));
  }
  parentPort?.postMessage({ ok: true, fields: plain, attachments });
} catch (error) {
  parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
