import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { scanAttachments } from './attachments.ts';
import { qrCodeIn } from './qr-codes.ts';

const image = (name: string) => readFileSync(new URL(`../../../test/fixtures/email/corpus/images/${name}`, import.meta.url));

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid grey PNG whose header claims `width` × `height` but whose data is one tiny row. */
function pngClaiming(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + Math.min(width, 16)))),
    chunk('IEND', new Uint8Array()),
  ]);
}

describe('QR codes in images', () => {
  test('decodes a PNG and a photo-like JPEG', () => {
    assert.deepEqual(qrCodeIn(image('mfa-qr.png'), 'png'), { found: true, text: 'https://login.mfa-reenroll.com/enroll?u=alex@examplecorp.com' });
    assert.deepEqual(qrCodeIn(image('payroll-qr.jpg'), 'jpeg'), { found: true, text: 'https://examp1ecorp-sso.com/payroll/login' });
  });

  test('an image without a code is no code, not an error', () => {
    assert.deepEqual(qrCodeIn(image('logo.jpg'), 'jpeg'), { found: false });
  });

  test('a PNG claiming 50,000 × 50,000 pixels is refused from its header, before anything is inflated', () => {
    const bomb = pngClaiming(50_000, 50_000);
    assert.ok(bomb.length < 200);
    const before = process.memoryUsage().arrayBuffers;
    const result = qrCodeIn(bomb, 'png');
    assert.equal(result.found, false);
    assert.match((result as { skipped: string }).skipped, /50000×50000 is larger than the 4,000,000-pixel limit/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 50e6, 'nothing the size of the claimed image was allocated');
  });

  test('noise, the decoder’s worst case (seconds per image), is recognised and skipped', () => {
    let seed = 11;
    const side = 800;
    const rgba = Buffer.alloc(side * side * 4, 255);
    for (let p = 0; p < side * side; p++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const v = seed & 0x10000 ? 255 : 0;
      rgba[p * 4] = v;
      rgba[p * 4 + 1] = v;
      rgba[p * 4 + 2] = v;
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(side, 0);
    header.writeUInt32BE(side, 4);
    header[8] = 8;
    header[9] = 6; // RGBA
    const rows = Buffer.concat(Array.from({ length: side }, (_, y) => Buffer.concat([Buffer.from([0]), rgba.subarray(y * side * 4, (y + 1) * side * 4)])));
    const noise = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(rows)),
      chunk('IEND', new Uint8Array()),
    ]);
    const result = qrCodeIn(noise, 'png');
    assert.match((result as { skipped?: string }).skipped ?? '', /too busy to hold a readable code \(\d+% transitions\)/);
  });

  test('broken, truncated and hostile images never throw', () => {
    const png = image('mfa-qr.png');
    const jpg = image('payroll-qr.jpg');
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const cases: Array<[Uint8Array, 'png' | 'jpeg']> = [
      [png.subarray(0, 30), 'png'],
      [jpg.subarray(0, 200), 'jpeg'],
      [Buffer.from([0xff, 0xd8, 0xff]), 'jpeg'],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'png'],
      [pngClaiming(0, 0), 'png'],
    ];
    for (let i = 0; i < 150; i++) {
      const source = i % 2 === 0 ? png : jpg;
      const mutated = Buffer.from(source);
      for (let k = 0; k < 1 + Math.floor(random() * 20); k++) mutated[8 + Math.floor(random() * (mutated.length - 8))] = Math.floor(random() * 256);
      cases.push([mutated, i % 2 === 0 ? 'png' : 'jpeg']);
    }
    for (const [bytes, type] of cases) {
      const result = qrCodeIn(bytes, type);
      assert.equal(typeof result.found, 'boolean');
    }
  });

  test('attachments: a code becomes a link from the image, found in archives too, within the per-message cap', () => {
    const scan = scanAttachments(
      [
        { filename: 'mfa.png', mimeType: 'image/png', content: image('mfa-qr.png') },
        { filename: 'logo.jpg', mimeType: 'image/jpeg', content: image('logo.jpg') },
      ],
      { maxArchiveEntries: 100, maxArchiveDepth: 3 },
      { remaining: 1e8 },
    );
    assert.deepEqual(
      scan.links.map((l) => [l.source, l.attachment, l.host]),
      [['qr', 'mfa.png', 'login.mfa-reenroll.com']],
    );
    assert.deepEqual(
      scan.reports[0]?.findings.map((f) => f.code),
      ['qr_code_link'],
    );
    assert.deepEqual(scan.reports[1]?.findings, []);

    const zipped = scanAttachments(
      [{ filename: 'scan.zip', mimeType: 'application/zip', content: zipSync({ 'docs/pay.jpg': image('payroll-qr.jpg') }) }],
      { maxArchiveEntries: 100, maxArchiveDepth: 3 },
      { remaining: 1e8 },
    );
    assert.deepEqual(
      zipped.links.map((l) => [l.attachment, l.host]),
      [['scan.zip/docs/pay.jpg', 'examp1ecorp-sso.com']],
    );

    // Fifty copies: only the first `maxImages` are decoded.
    const many = Array.from({ length: 50 }, (_, i) => ({ filename: `qr-${i}.png`, mimeType: 'image/png', content: image('mfa-qr.png') }));
    const capped = scanAttachments(
      many,
      { maxArchiveEntries: 100, maxArchiveDepth: 3, qr: { maxPixels: 4_000_000, maxImages: 3, maxMs: 60_000 } },
      { remaining: 1e8 },
    );
    assert.equal(capped.links.length, 3);
    assert.deepEqual(capped.reports[3]?.qrCode, { skipped: 'not decoded: the message used up its QR decoding budget' });
  });
});
