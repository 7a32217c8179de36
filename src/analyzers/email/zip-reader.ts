import { inflateSync } from 'fflate';

/**
 * Reads a zip's central directory without inflating anything, so names, sizes and the encryption flag
 * are known before a single byte is expanded; entries are then inflated one at a time against a shared
 * budget. This is the zip-bomb guard: a declared size over the budget is never attempted.
 */
export interface ZipEntry {
  name: string;
  method: number;
  encrypted: boolean;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** More entries than were read (the listing was cut at the limit). */
  truncated: boolean;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u16(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05) && (bytes[3] === 0x04 || bytes[3] === 0x06);
}

/** The central directory, or undefined when the bytes are not a readable zip. */
export function readZipDirectory(bytes: Uint8Array, maxEntries: number): ZipDirectory | undefined {
  const start = Math.max(0, bytes.length - 65_557);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= start; i--) {
    if (u32(bytes, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const total = u16(bytes, eocd + 10);
  let offset = u32(bytes, eocd + 16);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  for (let n = 0; n < total; n++) {
    if (entries.length >= maxEntries) return { entries, truncated: true };
    if (offset + 46 > bytes.length || u32(bytes, offset) !== CENTRAL) break;
    const flags = u16(bytes, offset + 8);
    const nameLength = u16(bytes, offset + 28);
    const extraLength = u16(bytes, offset + 30);
    const commentLength = u16(bytes, offset + 32);
    entries.push({
      name: decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength)),
      method: u16(bytes, offset + 10),
      encrypted: (flags & 1) === 1,
      compressedSize: u32(bytes, offset + 20),
      uncompressedSize: u32(bytes, offset + 24),
      localHeaderOffset: u32(bytes, offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return { entries, truncated: false };
}

export interface InflateBudget {
  /** Bytes that may still be expanded for this message. */
  remaining: number;
}

/**
 * The entry's content, or undefined when it is encrypted, uses an unknown method, is damaged, or would
 * exceed the budget (checked against the declared size before inflating and the real size after).
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, budget: InflateBudget): Uint8Array | undefined {
  if (entry.encrypted || entry.uncompressedSize > budget.remaining) return undefined;
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || u32(bytes, at) !== LOCAL) return undefined;
  const dataStart = at + 30 + u16(bytes, at + 26) + u16(bytes, at + 28);
  const data = bytes.subarray(dataStart, Math.min(bytes.length, dataStart + entry.compressedSize));
  try {
    let out: Uint8Array;
    if (entry.method === 0) out = data;
    else if (entry.method === 8) out = inflateSync(data, { out: new Uint8Array(entry.uncompressedSize) });
    else return undefined;
    budget.remaining -= out.length;
    return out;
  } catch {
    return undefined;
  }
}
