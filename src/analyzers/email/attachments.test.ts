import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zipSync, zlibSync } from 'fflate';
import { allFindings, detectType, scanAttachments } from './attachments.ts';

const LIMITS = { maxArchiveEntries: 100, maxArchiveDepth: 3 };
const text = (s: string) => new TextEncoder().encode(s);
const codes = (scan: ReturnType<typeof scanAttachments>) => [...allFindings(scan.reports)].map((f) => f.finding.code).sort();

describe('attachments', () => {
  test('the type comes from the bytes, and a name that lies about it is reported', () => {
    const pe = new Uint8Array(64);
    pe.set(text('MZ'));
    assert.equal(detectType(pe), 'pe');
    assert.equal(detectType(text('%PDF-1.7')), 'pdf');
    assert.equal(
      detectType(zipSync({ '[Content_Types].xml': text('<Types/>'), 'word/document.xml': text('<w/>') }), ['[Content_Types].xml', 'word/document.xml']),
      'ooxml-word',
    );
    const scan = scanAttachments([{ filename: 'report.pdf', mimeType: 'application/pdf', content: pe }], LIMITS, { remaining: 1e6 });
    assert.deepEqual(codes(scan), ['executable', 'type_mismatch']);
    assert.equal(scan.reports[0]?.sha256.length, 64);
  });

  test('a zip bomb is not expanded past the budget, and nesting stops at the depth limit', () => {
    const bomb = zipSync({ 'zeros.bin': new Uint8Array(20 * 1024 * 1024) });
    const budget = { remaining: 1024 * 1024 };
    const scan = scanAttachments([{ filename: 'bomb.zip', mimeType: 'application/zip', content: bomb }], LIMITS, budget);
    assert.ok(codes(scan).includes('archive_limit'));
    assert.equal(budget.remaining, 1024 * 1024);
    let nested: Uint8Array = text('innermost');
    for (let i = 0; i < 6; i++) nested = zipSync({ [`level${i}.zip`]: nested });
    const deep = scanAttachments([{ filename: 'deep.zip', mimeType: 'application/zip', content: nested }], LIMITS, { remaining: 1e7 });
    assert.ok(codes(deep).includes('archive_limit'));
    assert.ok(codes(deep).includes('nested_archive'));
  });

  test('macros, encryption, smuggling, disk images and shortcuts are named', () => {
    const docm = zipSync({ '[Content_Types].xml': text('<Types/>'), 'word/document.xml': text('<w/>'), 'word/vbaProject.bin': text('x') });
    const encrypted = zipSync({ 'a.txt': text('secret') }, { level: 0 });
    encrypted[6] = (encrypted[6] ?? 0) | 1;
    for (let i = 0; i + 8 < encrypted.length; i++)
      if (encrypted[i] === 0x50 && encrypted[i + 1] === 0x4b && encrypted[i + 2] === 1 && encrypted[i + 3] === 2)
        encrypted[i + 8] = (encrypted[i + 8] ?? 0) | 1;
    const lnk = new Uint8Array(100);
    lnk.set([0x4c, 0, 0, 0, 1, 0x14, 2, 0]);
    const smuggler = text(
      '<html><script>var b=new Blob([atob("QUJD")]);var a=document.createElement("a");a.href=URL.createObjectURL(b);a.download="x.zip";a.click()</script></html>',
    );
    const scan = scanAttachments(
      [
        { filename: 'inv.docm', mimeType: 'application/octet-stream', content: docm },
        { filename: 'files.zip', mimeType: 'application/zip', content: encrypted },
        { filename: 'doc.pdf.lnk', mimeType: 'application/octet-stream', content: lnk },
        { filename: 'remit.html', mimeType: 'text/html', content: smuggler },
        { filename: 'plain.iso', mimeType: 'application/octet-stream', content: new Uint8Array(10) },
      ],
      LIMITS,
      { remaining: 1e6 },
    );
    for (const code of ['macro', 'macro_enabled_type', 'encrypted_archive', 'shortcut', 'double_extension', 'html_smuggling', 'disk_image']) {
      assert.ok(codes(scan).includes(code), `${code} missing from ${codes(scan).join(',')}`);
    }
  });

  test('links inside compressed PDF object streams are found, within the expansion budget', () => {
    const packed = zlibSync(text('4 0 obj << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://login.evil.example/pdf) >> >> endobj'));
    const pdf = new Uint8Array([
      ...text('%PDF-1.7\n5 0 obj << /Type /ObjStm /Filter /FlateDecode /Length 99 >>\nstream\n'),
      ...packed,
      ...text('\nendstream\nendobj\n%%EOF\n'),
    ]);
    const scan = scanAttachments([{ filename: 'invoice.pdf', mimeType: 'application/pdf', content: pdf }], LIMITS, { remaining: 1e6 });
    assert.deepEqual(
      scan.links.map((l) => [l.url, l.attachment]),
      [['https://login.evil.example/pdf', 'invoice.pdf']],
    );
    const starved = scanAttachments([{ filename: 'invoice.pdf', mimeType: 'application/pdf', content: pdf }], LIMITS, { remaining: 0 });
    assert.deepEqual(starved.links, []);
  });
});
