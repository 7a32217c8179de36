/**
 * TNEF (`winmail.dat`, `application/ms-tnef`): how Outlook and Exchange wrap a message's attachments when
 * they send rich text. Mail clients outside Outlook show only an opaque `winmail.dat`, and so would a
 * scanner that does not open it; an executable inside would go unseen. This reads the attachments out of
 * it (MS-OXTNEF: a signature, then attributes of level, id, length, data and checksum) so that each is
 * scanned like any other attachment. Hostile input: every length is checked against what is left, the
 * number of attachments is capped, and a damaged file yields what was read before the damage.
 */
export interface TnefAttachment {
  filename: string;
  content: Uint8Array;
}

export interface TnefContents {
  attachments: TnefAttachment[];
  /** Why reading stopped early, if it did (damaged file, too many attachments). */
  stopped?: string;
}

const SIGNATURE = 0x223e9f78;
const LEVEL_ATTACHMENT = 0x02;
/** attAttachRendData: starts each attachment. */
const ATT_ATTACH_REND_DATA = 0x9002;
/** attAttachTitle: the (often 8.3) file name. */
const ATT_ATTACH_TITLE = 0x8010;
/** attAttachData: the attachment's bytes. */
const ATT_ATTACH_DATA = 0x800f;
/** attAttachment: the attachment's MAPI properties, where the long file name lives. */
const ATT_ATTACHMENT = 0x9005;
const PR_ATTACH_LONG_FILENAME = 0x3707;
const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;

export function isTnef(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true) === SIGNATURE;
}

function latin1z(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end >= 0 ? bytes.subarray(0, end) : bytes).toString('latin1');
}

/** The long file name from an attAttachment MAPI property list, or undefined (named properties end the search). */
function longFilename(props: Uint8Array): string | undefined {
  const view = new DataView(props.buffer, props.byteOffset, props.byteLength);
  if (props.length < 4) return undefined;
  const count = view.getUint32(0, true);
  let at = 4;
  for (let i = 0; i < count && at + 4 <= props.length; i++) {
    const type = view.getUint16(at, true);
    const id = view.getUint16(at + 2, true);
    at += 4;
    // Named properties and multi-valued types need more parsing than a file name is worth: stop there.
    if (id >= 0x8000 || type & 0x1000) return undefined;
    const fixed: Record<number, number> = { 2: 4, 3: 4, 4: 4, 5: 8, 6: 8, 7: 8, 10: 4, 11: 4, 20: 8, 64: 8 };
    const size = fixed[type];
    if (size !== undefined) {
      at += size;
      continue;
    }
    if (type !== PT_STRING8 && type !== PT_UNICODE && type !== 0x0102 && type !== 0x000d && type !== 0x0048) return undefined;
    if (type === 0x0048) {
      at += 16;
      continue;
    }
    if (at + 8 > props.length) return undefined;
    const values = view.getUint32(at, true);
    at += 4;
    for (let v = 0; v < values && at + 4 <= props.length; v++) {
      const length = view.getUint32(at, true);
      at += 4;
      if (length > props.length - at) return undefined;
      const data = props.subarray(at, at + length);
      if (id === PR_ATTACH_LONG_FILENAME && (type === PT_STRING8 || type === PT_UNICODE)) {
        const text = type === PT_UNICODE ? Buffer.from(data).toString('utf16le') : Buffer.from(data).toString('latin1');
        return text.replace(/\0+$/, '');
      }
      at += length + ((4 - (length % 4)) % 4);
    }
  }
  return undefined;
}

export function readTnef(bytes: Uint8Array, maxAttachments: number): TnefContents {
  const attachments: TnefAttachment[] = [];
  if (!isTnef(bytes)) return { attachments, stopped: 'not a TNEF file' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Attributes of an attachment before its attAttachRendData (some writers omit it) start one too.
  let current: { title?: string; long?: string; content?: Uint8Array } = {};
  const flush = () => {
    if (current.content) attachments.push({ filename: current.long || current.title || `attachment-${attachments.length + 1}`, content: current.content });
    current = {};
  };
  const stop = (reason: string): TnefContents => {
    flush();
    return { attachments: attachments.slice(0, maxAttachments), stopped: reason };
  };
  let at = 6;
  while (at < bytes.length) {
    if (at + 9 > bytes.length) return stop('the file ends inside an attribute header');
    const level = bytes[at] ?? 0;
    const id = view.getUint32(at + 1, true) & 0xffff;
    const length = view.getUint32(at + 5, true);
    at += 9;
    if (length > bytes.length - at - 2) return stop(`an attribute claims ${length} bytes past the end of the file`);
    const data = bytes.subarray(at, at + length);
    at += length + 2; // data, then a 16-bit checksum (not needed to read the content)
    if (level !== LEVEL_ATTACHMENT) continue;
    if (id === ATT_ATTACH_REND_DATA) {
      flush();
      if (attachments.length >= maxAttachments) return { attachments, stopped: `more than ${maxAttachments} attachments; the rest were not read` };
    } else if (id === ATT_ATTACH_TITLE) current.title = latin1z(data).slice(0, 255);
    else if (id === ATT_ATTACH_DATA) current.content = data;
    else if (id === ATT_ATTACHMENT) {
      try {
        const name = longFilename(data);
        if (name) current.long = name.slice(0, 255);
      } catch {
        // A damaged property list: keep the short title.
      }
    }
  }
  flush();
  return { attachments: attachments.slice(0, maxAttachments) };
}
