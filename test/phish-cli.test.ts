import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';

/** `riposte phish analyze` through the real binary: one JSON line per file, bad files reported and skipped over. */
const ROOT = resolve(import.meta.dirname, '..');
const CORPUS = 'test/fixtures/email/corpus';

interface CliLine {
  file: string;
  verdict: string;
  score: number;
  error: string;
  observables: { urls: string[]; ips: string[] };
  auth: Record<string, string>;
  hops: unknown[];
  reporter: { from: string; category: string | null };
  messages: unknown[];
}

function riposte(args: string[]) {
  const run = spawnSync(process.execPath, [join(ROOT, 'riposte'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('riposte phish analyze', () => {
  test('--json prints one object per file in order; an unreadable file gets an error line and the rest go on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-phish-'));
    try {
      const notes = join(dir, 'notes.txt');
      writeFileSync(notes, 'shopping list: milk, eggs\n');
      const files = [
        `${CORPUS}/phish/credential-lookalike-digit.eml`,
        notes,
        join(dir, 'missing.eml'),
        `${CORPUS}/legit/internal-colleague.eml`,
        `${CORPUS}/phish/reported-wrapper.eml`,
      ];
      const run = riposte(['--config', `${CORPUS}/riposte.yaml`, 'phish', 'analyze', '--offline', '--json', ...files]);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        lines.map((l) => l.file),
        files,
      );
      const [phish, notesLine, missing, legit, wrapper] = lines as unknown as CliLine[];
      assert.deepEqual(Object.keys(phish ?? {}).slice(0, 8), ['file', 'verdict', 'score', 'reasons', 'observables', 'auth', 'hops', 'attachments']);
      assert.equal(phish?.verdict, 'malicious');
      assert.ok((phish?.score ?? 0) >= 70);
      assert.deepEqual(Object.keys(phish?.observables ?? {}), ['urls', 'domains', 'ips', 'emails', 'hashes']);
      assert.deepEqual(Object.keys(phish?.auth ?? {}), ['spf', 'dkim', 'dmarc', 'arc']);
      assert.equal(phish?.auth.spf, 'pass');
      // Defanged everywhere: nothing clickable in the output.
      assert.ok(phish?.observables.urls.every((u) => u.startsWith('hxxp')));
      assert.ok(!/https?:\/\//.test(JSON.stringify(phish?.observables)));
      assert.deepEqual(phish?.observables.ips, ['203[.]0[.]113[.]25']);
      assert.equal(phish?.hops.length, 2);
      assert.match(notesLine?.error ?? '', /not an email/);
      assert.equal(missing?.error, 'no such file');
      assert.equal(legit?.verdict, 'benign');
      assert.equal(wrapper?.reporter.from, 'alex@examplecorp.com');
      assert.equal(wrapper?.reporter.category, 'phishing');
      assert.equal(wrapper?.messages.length, 1);
      assert.equal(wrapper?.verdict, 'malicious');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('human output names the verdict and reasons; --help shows an example', () => {
    const run = riposte(['--config', `${CORPUS}/riposte.yaml`, 'phish', 'analyze', '--offline', `${CORPUS}/phish/html-smuggling.eml`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /MALICIOUS|SUSPICIOUS/);
    assert.match(run.stdout, /blob\/atob/);
    const help = riposte(['phish', 'analyze', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /riposte phish analyze --json --offline/);
  });

  test('--dns-records re-verifies DKIM, SPF and DMARC offline from a records file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-phish-dns-'));
    try {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const message = [
        'Received: from out.sender.example (out.sender.example [198.51.100.20]) by mx.corp.example; Mon, 6 Jan 2025 10:00:00 +0000',
        'Return-Path: <bounce@sender.example>',
        'From: billing@sender.example',
        'To: alex@corp.example',
        'Subject: invoice',
        'Date: Mon, 6 Jan 2025 09:59:58 +0000',
        '',
        'Invoice attached.',
        '',
      ].join('\r\n');
      const options = {
        signatureData: [{ signingDomain: 'sender.example', selector: 's1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }],
      };
      const signed = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
      writeFileSync(join(dir, 'signed.eml'), signed.signatures + message);
      writeFileSync(
        join(dir, 'dns.json'),
        JSON.stringify({
          's1._domainkey.sender.example TXT': [[`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]],
          'sender.example TXT': [['v=spf1 ip4:198.51.100.20 -all']],
          '_dmarc.sender.example TXT': [['v=DMARC1; p=reject']],
        }),
      );
      const run = riposte(['phish', 'analyze', '--json', '--dns-records', join(dir, 'dns.json'), join(dir, 'signed.eml')]);
      assert.equal(run.code, 0, run.stderr);
      const line = JSON.parse(run.stdout) as CliLine;
      assert.deepEqual(line.auth, { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
