import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeReport } from '../index.ts';
import { allFindings, scanAttachments } from './attachments.ts';
import { readTnef } from './tnef.ts';

/** Writes a TNEF stream (MS-OXTNEF) the way Outlook does: signature, key, then level/id/length/data/checksum. */
export function buildTnef(attachments: Array<{ title: string; long?: string; data: Uint8Array }>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeUInt32LE(0x223e9f78, 0);
  head.writeUInt16LE(0x0001, 4);
  parts.push(head);
  const attribute = (level: number, id: number, data: Uint8Array) => {
    const header = Buffer.alloc(9);
    header[0] = level;
    header.writeUInt32LE(id, 1);
    header.writeUInt32LE(data.length, 5);
    const checksum = Buffer.alloc(2);
    checksum.writeUInt16LE(data.reduce((sum, b) => (sum + b) & 0xffff, 0));
    parts.push(header, Buffer.from(data), checksum);
  };
  attribute(0x01, 0x00089006, Buffer.from([0x00, 0x00, 0x01, 0x00])); // attTnefVersion
  attribute(0x01, 0x00078008, Buffer.from('IPM.Microsoft Mail.Note\0', 'latin1')); // attMessageClass
  for (const a of attachments) {
    attribute(0x02, 0x00069002, Buffer.alloc(14)); // attAttachRendData
    attribute(0x02, 0x00018010, Buffer.from(`${a.title}\0`, 'latin1'));
    attribute(0x02, 0x0006800f, a.data);
    if (a.long) {
      const name = Buffer.from(`${a.long}\0`, 'utf16le');
      const props = Buffer.alloc(4 + 4 + 4 + 4 + name.length + ((4 - (name.length % 4)) % 4));
      props.writeUInt32LE(1, 0); // one property
      props.writeUInt16LE(0x001f, 4); // PT_UNICODE
      props.writeUInt16LE(0x3707, 6); // PR_ATTACH_LONG_FILENAME
      props.writeUInt32LE(1, 8); // one value
      props.writeUInt32LE(name.length, 12);
      name.copy(props, 16);
      attribute(0x02, 0x00069005, props);
    }
  }
  return Buffer.concat(parts);
}

const PE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]);

describe('TNEF (winmail.dat)', () => {
  test('reads each attachment with its long file name, falling back to the short title', () => {
    const tnef = buildTnef([
      { title: 'INVOIC~1.EXE', long: 'invoice.pdf.exe', data: PE },
      { title: 'notes.txt', data: Buffer.from('see you tomorrow') },
    ]);
    const read = readTnef(tnef, 100);
    assert.equal(read.stopped, undefined);
    assert.deepEqual(
      read.attachments.map((a) => [a.filename, a.content.length]),
      [
        ['invoice.pdf.exe', PE.length],
        ['notes.txt', 16],
      ],
    );
  });

  test('what is inside is scanned like any attachment, under the winmail.dat path', () => {
    const scan = scanAttachments(
      [{ filename: 'winmail.dat', mimeType: 'application/ms-tnef', content: buildTnef([{ title: 'INVOIC~1.EXE', long: 'invoice.pdf.exe', data: PE }]) }],
      { maxArchiveEntries: 100, maxArchiveDepth: 3 },
      { remaining: 1e8 },
    );
    assert.equal(scan.reports[0]?.detectedType, 'tnef');
    const findings = [...allFindings(scan.reports)].map((f) => `${f.report.path}: ${f.finding.code}`);
    assert.ok(findings.includes('winmail.dat/invoice.pdf.exe: executable'), findings.join('\n'));
    assert.ok(findings.includes('winmail.dat/invoice.pdf.exe: double_extension'), findings.join('\n'));
  });

  test('a reported e-mail whose winmail.dat hides an executable is malicious, and the reason names it', async () => {
    const tnef = buildTnef([{ title: 'INVOIC~1.EXE', long: 'invoice.pdf.exe', data: PE }]).toString('base64');
    const eml = [
      'From: "Accounts" <accounts@supplier-billing.example>',
      'To: alex@examplecorp.com',
      'Subject: Overdue invoice',
      'Message-ID: <tnef-1@supplier-billing.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Please pay the attached invoice today.',
      '--b',
      'Content-Type: application/ms-tnef; name="winmail.dat"',
      'Content-Disposition: attachment; filename="winmail.dat"',
      'Content-Transfer-Encoding: base64',
      '',
      tnef,
      '--b--',
      '',
    ].join('\r\n');
    const report = await analyzeReport(new Uint8Array(Buffer.from(eml)), {});
    const analysis = report.analyses[0];
    assert.equal(analysis?.verdict, 'malicious');
    assert.ok(
      analysis?.reasons.some((r) => /winmail\.dat\/invoice\.pdf\.exe/.test(r)),
      analysis?.reasons.join('\n'),
    );
  });

  test('damaged and hostile files give what was read before the damage, and never throw', () => {
    const good = buildTnef([
      { title: 'a.txt', data: Buffer.from('one') },
      { title: 'b.txt', data: Buffer.from('two') },
    ]);
    const cut = readTnef(good.subarray(0, good.length - 10), 100);
    assert.deepEqual(
      cut.attachments.map((a) => a.filename),
      ['a.txt'],
    );
    assert.match(cut.stopped ?? '', /past the end of the file|inside an attribute header/);
    const many = readTnef(buildTnef(Array.from({ length: 20 }, (_, i) => ({ title: `f${i}.txt`, data: Buffer.from('x') }))), 5);
    assert.equal(many.attachments.length, 5);
    assert.match(many.stopped ?? '', /more than 5 attachments/);
    let seed = 3;
    for (let i = 0; i < 300; i++) {
      const mutated = Buffer.from(good);
      for (let k = 0; k < 1 + (i % 8); k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        mutated[6 + (seed % (mutated.length - 6))] = seed & 0xff;
      }
      const read = readTnef(mutated, 100);
      assert.ok(Array.isArray(read.attachments));
    }
  });
});
