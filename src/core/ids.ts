import { randomFillSync } from 'node:crypto';

/**
 * Time-ordered identifiers (UUIDv7, RFC 9562). They sort by creation time, which keeps B-tree inserts
 * append-mostly on both backends and makes cursors over ids equivalent to cursors over time.
 * Within one millisecond a counter in the random bits keeps ids from one process strictly increasing.
 */
let lastMs = -1;
let counter = 0;
const random = Buffer.alloc(16);
// Random bytes are drawn in blocks: one randomFillSync per 256 ids instead of one per id.
const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;

export function newId(nowMs: number = Date.now()): string {
  if (nowMs <= lastMs) {
    nowMs = lastMs;
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond rather than lose ordering.
      lastMs++;
      nowMs = lastMs;
      counter = 0;
    }
  } else {
    lastMs = nowMs;
    counter = 0;
  }
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(random, 0, poolOffset, poolOffset + 16);
  poolOffset += 16;
  const bytes = random;
  const ms = BigInt(nowMs);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** The creation time encoded in a UUIDv7, in epoch milliseconds. */
export function idTime(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
