import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { zipSync } from 'fflate';
import { PNG } from 'pngjs';
import { qrCodeIn } from '../src/analyzers/email/qr-codes.ts';
import { analyzeReport, type PhishingSettings } from '../src/analyzers/index.ts';
import { emit, note, percentile } from './harness.ts';
import { run as runEndToEnd } from './phishing-e2e.ts';

/**
 * Offline email analysis (issue #7): emails/s on one core over the labelled corpus, heap per email, and
 * the worst case — a generated 25 MB message with many attachments (archives, Office files, PDFs, HTML)
 * that must finish with bounded memory.
 */
const CORPUS = new URL('../test/fixtures/email/corpus/', import.meta.url).pathname;
const RUN_MS = 8000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function corpus(): Uint8Array[] {
  return ['phish', 'legit'].flatMap((dir) =>
    readdirSync(join(CORPUS, dir))
      .filter((f) => f.endsWith('.eml'))
      .map((f) => new Uint8Array(readFileSync(join(CORPUS, dir, f)))),
  );
}

function heapNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** One message of about `targetBytes`: `count` attachments of mixed kinds, base64 as mail carries them. */
export function bigMessage(targetBytes: number, count: number): Uint8Array {
  const perAttachment = Math.floor((targetBytes * 0.74) / count);
  const random = (n: number) => {
    const out = new Uint8Array(n);
    let x = 2463534242;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
  const kinds = [
    (i: number) => ({
      name: `archive-${i}.zip`,
      type: 'application/zip',
      bytes: zipSync({ [`data-${i}.bin`]: random(perAttachment), 'readme.txt': new TextEncoder().encode('see data') }, { level: 0 }),
    }),
    (i: number) => ({
      name: `report-${i}.docx`,
      type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      bytes: zipSync(
        {
          '[Content_Types].xml': new TextEncoder().encode('<Types/>'),
          'word/document.xml': new TextEncoder().encode('<w/>'),
          'word/media/image1.bin': random(perAttachment),
        },
        { level: 0 },
      ),
    }),
    (i: number) => ({
      name: `scan-${i}.pdf`,
      type: 'application/pdf',
      bytes: new Uint8Array([...new TextEncoder().encode('%PDF-1.7\n/URI (https://example.org/x)\n'), ...random(perAttachment)]),
    }),
    (i: number) => ({
      name: `page-${i}.html`,
      type: 'text/html',
      bytes: new TextEncoder().encode(`<html><body>${'<a href="https://example.org/p">p</a> '.repeat(Math.floor(perAttachment / 40))}</body></html>`),
    }),
    (i: number) => ({ name: `photo-${i}.jpg`, type: 'image/jpeg', bytes: new Uint8Array([0xff, 0xd8, 0xff, ...random(perAttachment)]) }),
  ];
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length] as (i: number) => { name: string; type: string; bytes: Uint8Array };
    const a = kind(i);
    parts.push(
      `--big\r\nContent-Type: ${a.type}; name="${a.name}"\r\nContent-Disposition: attachment; filename="${a.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(
        a.bytes,
      )
        .toString('base64')
        .replace(/.{76}/g, '$&\r\n')}\r\n`,
    );
  }
  const head =
    'From: "Big Sender" <big@sender.example>\r\nTo: alex@examplecorp.com\r\nSubject: quarterly archive\r\nDate: Tue, 14 Oct 2025 09:12:40 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="big"\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\nAll files attached.\r\n';
  return new TextEncoder().encode(`${head}${parts.join('')}--big--\r\n`);
}

/**
 * QR codes: decoding one real code (a photo-like JPEG), and a hostile message of ten 2,000 × 2,000 noise
 * PNGs (noise is the decoder's slowest input) that the per-message limits must keep short.
 */
async function qrCodes(settings: Partial<PhishingSettings>): Promise<void> {
  const code = new Uint8Array(readFileSync(join(CORPUS, 'images/payroll-qr.jpg')));
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    qrCodeIn(code, 'jpeg');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  emit({ suite: 'phishing', metric: 'qr_decode_p50_ms', value: percentile(times, 50), unit: 'ms', n: times.length, image: 'payroll-qr.jpg' });
  const side = 2000;
  const png = new PNG({ width: side, height: side });
  let x = 2463534242;
  for (let p = 0; p < side * side; p++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x & 0x100 ? 255 : 0;
    png.data[p * 4] = v;
    png.data[p * 4 + 1] = v;
    png.data[p * 4 + 2] = v;
    png.data[p * 4 + 3] = 255;
  }
  const noise = PNG.sync
    .write(png)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n');
  const boundary = 'qr-noise';
  const parts = Array.from(
    { length: 10 },
    (_, i) =>
      `--${boundary}\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="scan-${i}.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n${noise}`,
  );
  const message = Buffer.from(
    `From: a@noise.example\r\nTo: b@examplecorp.com\r\nSubject: scans\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\nScan the QR code.\r\n${parts.join('')}--${boundary}--\r\n`,
  );
  const t = performance.now();
  await analyzeReport(new Uint8Array(message), { settings });
  emit({
    suite: 'phishing',
    metric: 'qr_hostile_message_seconds',
    value: (performance.now() - t) / 1000,
    unit: 's',
    n: 1,
    images: 10,
    pixels_each: side * side,
    bytes: message.length,
  });
}

export async function run(): Promise<void> {
  const settings = JSON.parse(readFileSync(join(CORPUS, 'settings.json'), 'utf8')) as Partial<PhishingSettings>;
  await worstCase(settings);
  await qrCodes(settings);
  const emails = corpus();
  const totalBytes = emails.reduce((n, e) => n + e.length, 0);
  note(`phishing: ${emails.length} corpus emails (mean ${Math.round(totalBytes / emails.length)} bytes), offline, one thread`);

  // Warm-up so the JIT has seen every path once.
  for (const e of emails) await analyzeReport(e, { settings });

  const latencies: number[] = [];
  let analysed = 0;
  const started = performance.now();
  while (performance.now() - started < RUN_MS) {
    for (const e of emails) {
      const t = performance.now();
      await analyzeReport(e, { settings });
      latencies.push(performance.now() - t);
      analysed++;
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  emit({ suite: 'phishing', metric: 'emails_per_s', value: analysed / elapsed, unit: '1/s', n: analysed });
  emit({ suite: 'phishing', metric: 'analysis_p50_ms', value: percentile(latencies, 50), unit: 'ms', n: latencies.length });
  emit({ suite: 'phishing', metric: 'analysis_p99_ms', value: percentile(latencies, 99), unit: 'ms', n: latencies.length });

  // Heap per email: allocation between a collected heap and the end of one analysis (transient + result).
  const perEmail: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const e of emails) {
      gc();
      const before = heapNow();
      const report = await analyzeReport(e, { settings });
      perEmail.push(heapNow() - before);
      if (report.analyses.length === 0) note('unexpected: no analysis');
    }
  }
  emit({ suite: 'phishing', metric: 'heap_per_email_p50_bytes', value: percentile(perEmail, 50), unit: 'B', n: perEmail.length });
  emit({ suite: 'phishing', metric: 'heap_per_email_p99_bytes', value: percentile(perEmail, 99), unit: 'B', n: perEmail.length });
}

/** Runs first, on a fresh heap, so the process's peak RSS before it is the baseline. */
async function worstCase(settings: Partial<PhishingSettings>): Promise<void> {
  // 25 MB with 100 attachments.
  const big = bigMessage(25 * 1024 * 1024, 100);
  gc();
  const rssBefore = process.memoryUsage().rss;
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  const t = performance.now();
  const report = await analyzeReport(big, { settings });
  const seconds = (performance.now() - t) / 1000;
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  const attachments = report.analyses[0]?.attachments.length ?? 0;
  note(`phishing: worst case ${big.length} bytes, ${attachments} attachments, verdict ${report.analyses[0]?.verdict}`);
  emit({ suite: 'phishing', metric: 'worst_case_25mb_seconds', value: seconds, unit: 's', n: 1, bytes: big.length, attachments });
  emit({
    suite: 'phishing',
    metric: 'worst_case_25mb_peak_rss_growth_bytes',
    value: Math.max(0, maxRssAfter - Math.max(maxRssBefore, rssBefore)),
    unit: 'B',
    n: 1,
    rss_before: rssBefore,
  });
  // End to end: report → reporter told the verdict (bench/phishing-e2e.ts).
  await runEndToEnd();
}
