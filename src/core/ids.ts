import { randomFillSync } from 'node:crypto';

/**
 * Time-ordered identifiers (UUIDv7, RFC 9562). They sort by creation time, which keeps B-tree inserts
 * append-mostly on both backends and makes cursors over ids equivalent to cursors over time.
 * Within one millisecond a counter in the random bits keeps ids from one process strictly increasing.
 */
let lastMs = -1;
let counter = 0;
// Random bytes are drawn in blocks: one randomFillSync per 512 ids instead of one per id. Only the last
// 8 bytes of an id are random; the first 8 are time, version and counter.
const pool = Buffer.alloc(8 * 512);
let poolOffset = pool.length;
const VARIANT = '89ab';

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
  // String building instead of BigInt shifts and a byte buffer: ids are minted several times per alert.
  const time = nowMs.toString(16).padStart(12, '0');
  const random = pool.toString('hex', poolOffset, poolOffset + 8);
  const variant = VARIANT[(pool[poolOffset] as number) >> 6] as string;
  poolOffset += 8;
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${(0x7000 | counter).toString(16)}-${variant}${random.slice(1, 4)}-${random.slice(4, 16)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** The creation time encoded in a UUIDv7, in epoch milliseconds. */
export function idTime(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
