import { createHash } from 'node:crypto';
import { unzlibSync } from 'fflate';
import { defangUrl, type ExtractedLink, linksFromHtml, linksFromText } from './links.ts';
import { DEFAULT_QR_LIMITS, type QrLimits, qrCodeIn } from './qr-codes.ts';
import { isTnef, readTnef } from './tnef.ts';
import { type InflateBudget, isZip, readZipDirectory, readZipEntry } from './zip-reader.ts';

/**
 * What an attachment really is and what it carries: hashes, the type its bytes say (not its name), names
 * built to mislead, macros, encryption, HTML smuggling, disk images and shortcuts, and archives opened
 * (within limits) to look at what is inside. Findings are facts with a code; the verdict weighs them.
 */
export interface AttachmentFinding {
  code: string;
  detail: string;
}

export interface AttachmentReport {
  filename: string;
  /** Path inside archives: "invoice.zip/docs/invoice.docm". */
  path: string;
  declaredType: string;
  detectedType: string;
  size: number;
  sha256: string;
  sha1: string;
  md5: string;
  findings: AttachmentFinding[];
  /** Entries of an archive that were looked at. */
  children: AttachmentReport[];
  /** An image's QR code: what it says, or why the image was not decoded (too large, broken). */
  qrCode?: { text: string } | { skipped: string };
}

export interface AttachmentScan {
  reports: AttachmentReport[];
  links: ExtractedLink[];
}

export interface AttachmentLimits {
  maxArchiveEntries: number;
  maxArchiveDepth: number;
  /** QR decoding of images (default DEFAULT_QR_LIMITS). */
  qr?: QrLimits;
}

const EXECUTABLE_EXTENSIONS = new Set([
  'exe',
  'scr',
  'com',
  'pif',
  'cpl',
  'msi',
  'msp',
  'dll',
  'bat',
  'cmd',
  'ps1',
  'psm1',
  'vbs',
  'vbe',
  'js',
  'jse',
  'wsf',
  'wsh',
  'hta',
  'jar',
  'lnk',
  'reg',
  'msc',
  'appx',
  'appxbundle',
  'msix',
  'application',
  'gadget',
  'scf',
  'chm',
  'xll',
  'iqy',
  'slk',
  'svg',
]);
const DISK_IMAGE_EXTENSIONS = new Set(['iso', 'img', 'vhd', 'vhdx']);
const MACRO_EXTENSIONS = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'xlsb', 'pptm', 'potm', 'ppsm', 'sldm']);
const DECOY_EXTENSIONS = new Set([
  'pdf',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'txt',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'rtf',
  'csv',
  'zip',
  'mp3',
  'mp4',
  'wav',
]);
const ARCHIVE_TYPES = new Set(['zip']);

function extensionOf(name: string): string {
  const match = /\.([a-z0-9]{1,12})\s*$/i.exec(name);
  return match?.[1]?.toLowerCase() ?? '';
}

function startsWith(bytes: Uint8Array, signature: number[], at = 0): boolean {
  return signature.every((b, i) => bytes[at + i] === b);
}

function asciiAt(bytes: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function utf16(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) out[i * 2] = text.charCodeAt(i);
  return out;
}

const OLE_VBA = utf16('_VBA_PROJECT');
const OLE_ENCRYPTED_PACKAGE = utf16('EncryptedPackage');
const OLE_OUTLOOK = utf16('__substg1.0_');

function contains(bytes: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle) >= 0;
}

/** Text of at most `max` bytes, latin1 (keeps byte offsets; enough for markup and PDF syntax). */
function headText(bytes: Uint8Array, max: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, max)).toString('latin1');
}

/** The type the content says it is. Zip-based Office formats are told apart by their entries. */
export function detectType(bytes: Uint8Array, zipEntries?: string[]): string {
  if (bytes.length === 0) return 'empty';
  if (startsWith(bytes, [0x4d, 0x5a])) return 'pe';
  if (startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46])) return 'elf';
  if (asciiAt(bytes, 0, '%PDF')) return 'pdf';
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return contains(bytes, OLE_OUTLOOK) ? 'msg' : 'ole';
  if (isZip(bytes)) {
    const names = zipEntries ?? [];
    if (names.includes('[Content_Types].xml')) {
      if (names.some((n) => n.startsWith('word/'))) return 'ooxml-word';
      if (names.some((n) => n.startsWith('xl/'))) return 'ooxml-excel';
      if (names.some((n) => n.startsWith('ppt/'))) return 'ooxml-powerpoint';
      return 'ooxml';
    }
    return 'zip';
  }
  if (startsWith(bytes, [0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00])) return 'lnk';
  if (startsWith(bytes, [0xe4, 0x52, 0x5c, 0x7b, 0x8c, 0xd8, 0xa7, 0x4d])) return 'onenote';
  for (const at of [0x8001, 0x8801, 0x9001]) if (asciiAt(bytes, at, 'CD001')) return 'iso';
  if (asciiAt(bytes, 0, 'conectix') || (bytes.length > 512 && asciiAt(bytes, bytes.length - 512, 'conectix'))) return 'vhd';
  if (asciiAt(bytes, 0, 'Rar!')) return 'rar';
  if (startsWith(bytes, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip';
  if (asciiAt(bytes, 0, 'MSCF')) return 'cab';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return 'png';
  if (isTnef(bytes)) return 'tnef';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (asciiAt(bytes, 0, 'GIF8')) return 'gif';
  if (asciiAt(bytes, 0, '{\\rtf')) return 'rtf';
  const head = headText(bytes, 4096)
    .replace(/^\uFEFF|^ï»¿/, '')
    .trimStart()
    .toLowerCase();
  if (/^<!doctype html|^<html|^<head|^<body|^<script|^<meta|^<svg|^<\?xml[^>]*>\s*<svg/.test(head))
    return head.includes('<svg') && !head.includes('<html') ? 'svg' : 'html';
  if (/<html|<script|<form\b/.test(head)) return 'html';
  if (/^(?:received|return-path|from|message-id|mime-version|delivered-to|date|subject|to):/m.test(head.slice(0, 1024))) return 'eml';
  // Mostly printable bytes: text of some kind.
  let printable = 0;
  const sample = Math.min(bytes.length, 1024);
  for (let i = 0; i < sample; i++) {
    const b = bytes[i] ?? 0;
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc2) printable++;
  }
  return printable / sample > 0.95 ? 'text' : 'unknown';
}

const EXPECTED_TYPES: Record<string, string[]> = {
  pdf: ['pdf'],
  doc: ['ole', 'rtf', 'html'],
  xls: ['ole', 'html', 'text'],
  ppt: ['ole'],
  docx: ['ooxml-word', 'ooxml'],
  xlsx: ['ooxml-excel', 'ooxml'],
  pptx: ['ooxml-powerpoint', 'ooxml'],
  jpg: ['jpeg'],
  jpeg: ['jpeg'],
  png: ['png'],
  gif: ['gif'],
  zip: ['zip', 'ooxml', 'ooxml-word', 'ooxml-excel', 'ooxml-powerpoint'],
  txt: ['text', 'eml', 'html', 'empty'],
  rtf: ['rtf', 'text'],
};
const DANGEROUS_TYPES = new Set(['pe', 'elf', 'lnk', 'html', 'svg', 'iso', 'vhd', 'onenote']);

function hashes(bytes: Uint8Array): { sha256: string; sha1: string; md5: string } {
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
  };
}

const SMUGGLING_DECODE = /\batob\s*\(|new\s+Blob\s*\(|Uint8Array\s*\(|base64,|fromCharCode/i;
const SMUGGLING_DELIVER = /\.download\s*=|\bdownload\s*=\s*["']|createObjectURL|msSaveOrOpenBlob|msSaveBlob|\.click\s*\(\s*\)/i;

/** Length of the longest run of base64 characters, by one pass (a regex would backtrack quadratically). */
function longestBase64Run(text: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isBase64 = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    run = isBase64 ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

function inspectHtml(text: string, report: AttachmentReport, links: ExtractedLink[]): void {
  if (SMUGGLING_DECODE.test(text) && SMUGGLING_DELIVER.test(text)) {
    report.findings.push({ code: 'html_smuggling', detail: `${report.path} builds a file in the browser (blob/atob with a scripted download)` });
  } else if (longestBase64Run(text) >= 20_000 && /<script/i.test(text)) {
    report.findings.push({ code: 'html_smuggling', detail: `${report.path} carries a large base64 payload beside script` });
  }
  if (/<input\b[^<>]{0,2000}type\s*=\s*["']?password/i.test(text)) {
    report.findings.push({ code: 'credential_form', detail: `${report.path} is a page asking for a password` });
  }
  if (/(?:window|document|top)\.location(?:\.href)?\s*=|location\.replace\s*\(|http-equiv\s*=\s*["']?refresh/i.test(text)) {
    report.findings.push({ code: 'html_redirect', detail: `${report.path} redirects the browser elsewhere when opened` });
  }
  for (const link of linksFromHtml(text, 'attachment')) links.push({ ...link, attachment: report.path });
}

/**
 * PDF objects, including those packed in FlateDecode streams (object streams hide link annotations in most
 * PDFs since 1.5): streams are inflated against the message's budget, at most 200 per file.
 */
function pdfTexts(bytes: Uint8Array, budget: InflateBudget): string[] {
  const text = headText(bytes, 16 * 1024 * 1024);
  const texts = [text];
  let streams = 0;
  for (const match of text.matchAll(/\/FlateDecode[^<>]{0,400}?>>\s*stream\r?\n/g)) {
    if (streams++ >= 200 || budget.remaining <= 0) break;
    const start = match.index + match[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const out = unzlibSync(bytes.subarray(start, end), { out: new Uint8Array(Math.min(budget.remaining, 4 * 1024 * 1024)) });
      budget.remaining -= out.length;
      texts.push(Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('latin1'));
    } catch {
      // A damaged or non-zlib stream: its content stays unread.
    }
  }
  return texts;
}

function inspectPdf(bytes: Uint8Array, report: AttachmentReport, links: ExtractedLink[], budget: InflateBudget): void {
  const texts = pdfTexts(bytes, budget);
  const has = (pattern: RegExp) => texts.some((t) => pattern.test(t));
  for (const text of texts) {
    for (const match of text.matchAll(/\/URI\s*\(([^)]{1,2000})\)/g)) {
      for (const link of linksFromText(match[1] ?? '', 'attachment')) links.push({ ...link, attachment: report.path });
    }
  }
  if (has(/\/(?:JavaScript|JS)\b/)) report.findings.push({ code: 'pdf_javascript', detail: `${report.path} contains JavaScript` });
  if (has(/\/Launch\b/)) report.findings.push({ code: 'pdf_launch', detail: `${report.path} can launch a program (/Launch)` });
  if (has(/\/EmbeddedFile\b/)) report.findings.push({ code: 'pdf_embedded_file', detail: `${report.path} embeds a file` });
  if (has(/\/Encrypt\b/)) report.findings.push({ code: 'encrypted_document', detail: `${report.path} is an encrypted PDF` });
}

function inspectOle(bytes: Uint8Array, report: AttachmentReport, links: ExtractedLink[]): void {
  // Legacy Word/Excel keep hyperlinks as UTF-16 or ANSI strings; dropping NULs reads both.
  const text = headText(bytes, 16 * 1024 * 1024).replaceAll(String.fromCharCode(0), '');
  for (const link of linksFromText(text, 'attachment').slice(0, 100)) links.push({ ...link, attachment: report.path });
  if (contains(bytes, OLE_VBA)) report.findings.push({ code: 'macro', detail: `${report.path} contains VBA macros (OLE _VBA_PROJECT)` });
  if (contains(bytes, OLE_ENCRYPTED_PACKAGE))
    report.findings.push({ code: 'encrypted_document', detail: `${report.path} is a password-protected Office document` });
}

interface ScanContext {
  budget: InflateBudget;
  limits: AttachmentLimits;
  links: ExtractedLink[];
  /** QR decode attempts and milliseconds left for this message. */
  qrImagesLeft: number;
  qrMsLeft: number;
}

/** A QR code in an image is a link the reader is meant to open on a phone, away from the mail filters. */
function inspectQrCode(bytes: Uint8Array, type: 'png' | 'jpeg', report: AttachmentReport, context: ScanContext): void {
  if (context.qrImagesLeft <= 0 || context.qrMsLeft <= 0) {
    report.qrCode = { skipped: 'not decoded: the message used up its QR decoding budget' };
    return;
  }
  context.qrImagesLeft--;
  const started = performance.now();
  const result = qrCodeIn(bytes, type, context.limits.qr ?? DEFAULT_QR_LIMITS);
  context.qrMsLeft -= performance.now() - started;
  if (!result.found) {
    if (result.skipped) report.qrCode = { skipped: result.skipped };
    return;
  }
  report.qrCode = { text: result.text };
  for (const link of linksFromText(result.text, 'qr').slice(0, 10)) {
    context.links.push({ ...link, attachment: report.path });
    report.findings.push({ code: 'qr_code_link', detail: `${report.path} holds a QR code that opens ${defangUrl(link.url).slice(0, 200)}` });
  }
}

function scanOne(filename: string, path: string, declaredType: string, bytes: Uint8Array, depth: number, context: ScanContext): AttachmentReport {
  const zip = isZip(bytes) ? readZipDirectory(bytes, context.limits.maxArchiveEntries) : undefined;
  const detectedType = detectType(
    bytes,
    zip?.entries.map((e) => e.name),
  );
  const report: AttachmentReport = {
    filename,
    path,
    declaredType,
    detectedType,
    size: bytes.length,
    ...hashes(bytes),
    findings: [],
    children: [],
  };
  const extension = extensionOf(filename);
  const rtlo = /[\u202e\u202d\u200f]/.test(filename);
  const parts = filename.toLowerCase().split('.');
  const innerExtension = parts.length > 2 ? (parts[parts.length - 2] ?? '').trim() : '';
  if (rtlo) report.findings.push({ code: 'deceptive_name', detail: `${path}: the name hides its real extension with a right-to-left override` });
  if (EXECUTABLE_EXTENSIONS.has(extension) && (DECOY_EXTENSIONS.has(innerExtension) || /\s{3,}\.[a-z0-9]+$/i.test(filename))) {
    report.findings.push({ code: 'double_extension', detail: `${path}: "${innerExtension || 'padded'}" name hiding an executable .${extension}` });
  }
  if (EXECUTABLE_EXTENSIONS.has(extension) || detectedType === 'pe' || detectedType === 'elf') {
    report.findings.push({
      code: 'executable',
      detail: `${path} is an executable or script (${detectedType === 'pe' || detectedType === 'elf' ? detectedType : `.${extension}`})`,
    });
  }
  if (detectedType === 'lnk' || extension === 'lnk') report.findings.push({ code: 'shortcut', detail: `${path} is a Windows shortcut (LNK)` });
  if (DISK_IMAGE_EXTENSIONS.has(extension) || detectedType === 'iso' || detectedType === 'vhd') {
    report.findings.push({
      code: 'disk_image',
      detail: `${path} is a disk image (${detectedType === 'unknown' ? `.${extension}` : detectedType}), a way around Mark-of-the-Web`,
    });
  }
  if (detectedType === 'onenote' || extension === 'one')
    report.findings.push({ code: 'onenote', detail: `${path} is a OneNote file, used to carry embedded scripts` });
  const expected = EXPECTED_TYPES[extension];
  if (expected && !expected.includes(detectedType) && DANGEROUS_TYPES.has(detectedType)) {
    report.findings.push({ code: 'type_mismatch', detail: `${path} is named .${extension} but its content is ${detectedType}` });
  }
  if (MACRO_EXTENSIONS.has(extension)) report.findings.push({ code: 'macro_enabled_type', detail: `${path} is a macro-enabled Office type (.${extension})` });

  if (detectedType === 'html' || detectedType === 'svg' || ['html', 'htm', 'shtml', 'xhtml', 'svg'].includes(extension)) {
    if (detectedType === 'html' || detectedType === 'svg' || detectedType === 'text') {
      report.findings.push({ code: 'html_attachment', detail: `${path} is an HTML/SVG file that opens in the browser` });
      inspectHtml(headText(bytes, 4 * 1024 * 1024), report, context.links);
    }
  }
  if (detectedType === 'pdf') inspectPdf(bytes, report, context.links, context.budget);
  if (detectedType === 'ole') inspectOle(bytes, report, context.links);
  if (detectedType === 'png' || detectedType === 'jpeg') inspectQrCode(bytes, detectedType, report, context);
  if (detectedType === 'tnef' && depth < context.limits.maxArchiveDepth) {
    // Outlook's winmail.dat: its attachments are scanned like any others, under its path.
    const tnef = readTnef(bytes, context.limits.maxArchiveEntries);
    if (tnef.stopped) report.findings.push({ code: 'archive_limit', detail: `${path}: ${tnef.stopped}` });
    for (const inner of tnef.attachments)
      report.children.push(scanOne(inner.filename, `${path}/${inner.filename}`, 'tnef-entry', inner.content, depth + 1, context));
  }
  if (zip) {
    if (zip.truncated)
      report.findings.push({ code: 'archive_limit', detail: `${path}: more than ${context.limits.maxArchiveEntries} entries; the rest were not inspected` });
    if (zip.entries.some((e) => e.encrypted)) {
      report.findings.push({
        code: detectedType.startsWith('ooxml') ? 'encrypted_document' : 'encrypted_archive',
        detail: `${path} is password-protected, so its content cannot be scanned`,
      });
    }
    const isOffice = detectedType.startsWith('ooxml');
    if (isOffice) {
      if (zip.entries.some((e) => /vbaProject\.bin$/i.test(e.name)))
        report.findings.push({ code: 'macro', detail: `${path} contains VBA macros (vbaProject.bin)` });
      for (const entry of zip.entries) {
        if (!/\.rels$/i.test(entry.name)) continue;
        const content = readZipEntry(bytes, entry, context.budget);
        if (!content) continue;
        const xml = new TextDecoder().decode(content);
        for (const rel of xml.matchAll(/<Relationship\b[^>]*>/gi)) {
          const target = /Target\s*=\s*"([^"]*)"/i.exec(rel[0])?.[1];
          if (!target || !/TargetMode\s*=\s*"External"/i.test(rel[0])) continue;
          if (/attachedTemplate|oleObject|frame/i.test(rel[0]) && /^https?:|^\\\\/i.test(target)) {
            report.findings.push({
              code: 'remote_template',
              detail: `${path} loads remote content when opened (${/Type="[^"]*\/([^"/]+)"/.exec(rel[0])?.[1] ?? 'external'})`,
            });
          }
          for (const link of linksFromText(target.replace(/&amp;/g, '&'), 'attachment')) context.links.push({ ...link, attachment: path });
        }
      }
    } else if (depth < context.limits.maxArchiveDepth) {
      for (const entry of zip.entries) {
        if (entry.name.endsWith('/')) continue;
        const childPath = `${path}/${entry.name}`;
        const content = readZipEntry(bytes, entry, context.budget);
        if (!content) {
          if (!entry.encrypted && entry.uncompressedSize > context.budget.remaining) {
            report.findings.push({ code: 'archive_limit', detail: `${childPath} (${entry.uncompressedSize} bytes) exceeds what may still be expanded` });
          }
          // Encrypted or unreadable: still judge it by its name.
          const placeholder = scanOne(entry.name.split('/').pop() ?? entry.name, childPath, 'archive-entry', new Uint8Array(0), depth + 1, context);
          placeholder.size = entry.uncompressedSize;
          placeholder.detectedType = entry.encrypted ? 'encrypted' : 'unread';
          placeholder.findings = placeholder.findings.filter((f) => f.code !== 'type_mismatch');
          report.children.push(placeholder);
          continue;
        }
        report.children.push(scanOne(entry.name.split('/').pop() ?? entry.name, childPath, 'archive-entry', content, depth + 1, context));
      }
      if (report.children.some((c) => ARCHIVE_TYPES.has(c.detectedType)))
        report.findings.push({ code: 'nested_archive', detail: `${path} holds another archive` });
    } else {
      report.findings.push({ code: 'archive_limit', detail: `${path}: archives nested deeper than ${context.limits.maxArchiveDepth} were not opened` });
    }
  }
  return report;
}

/** Scans every attachment; `budget` is shared with the whole message so many archives cannot add up to a bomb. */
export function scanAttachments(
  attachments: Array<{ filename: string; mimeType: string; content: Uint8Array }>,
  limits: AttachmentLimits,
  budget: InflateBudget,
): AttachmentScan {
  const qr = limits.qr ?? DEFAULT_QR_LIMITS;
  const context: ScanContext = { budget, limits, links: [], qrImagesLeft: qr.maxImages, qrMsLeft: qr.maxMs };
  const reports = attachments.map((a, i) => {
    const name = a.filename || `attachment-${i + 1}`;
    return scanOne(name, name, a.mimeType, a.content, 0, context);
  });
  return { reports, links: context.links };
}

/** Every finding in a report tree, with the report it belongs to. */
export function* allFindings(reports: AttachmentReport[]): Generator<{ report: AttachmentReport; finding: AttachmentFinding }> {
  for (const report of reports) {
    for (const finding of report.findings) yield { report, finding };
    yield* allFindings(report.children);
  }
}

export function* allReports(reports: AttachmentReport[]): Generator<AttachmentReport> {
  for (const report of reports) {
    yield report;
    yield* allReports(report.children);
  }
}
