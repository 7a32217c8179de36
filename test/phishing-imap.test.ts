import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type Runtime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { settingsOverrides, wrappedReport } from './phishing-fixtures.ts';

/**
 * The IMAP reporting mailbox against a real IMAP server on loopback (hoodiecrow-imap, a scriptable
 * pure-JS server, dev dependency): unseen reports are taken in once, marked seen and moved; the
 * password comes from RIPOSTE_SECRET_<name>; a loopback server not allow-listed is refused.
 */
const require = createRequire(import.meta.url);
const hoodiecrow = require('hoodiecrow-imap') as (options: unknown) => {
  server: Server;
  listen(port: number, host: string, done: () => void): void;
  close(): void;
  getMailbox(path: string): { messages: Array<{ flags: string[]; raw: string }> } | undefined;
  storage: Record<string, { messages: Array<{ flags: string[]; raw: string }> }>;
};
const CORPUS = resolve(import.meta.dirname, 'fixtures/email/corpus');
const LURE = readFileSync(join(CORPUS, 'phish/html-credential-page.eml'));

for (const backend of testBackends()) {
  describe(`reporting mailbox over IMAP (${backend.backend})`, () => {
    let t: TestStore;
    let runtime: Runtime;
    let server: ReturnType<typeof hoodiecrow>;
    let port = 0;
    const dir = mkdtempSync(join(tmpdir(), 'riposte-phish-imap-'));
    before(async () => {
      t = await backend.open();
      await t.store.close();
      server = hoodiecrow({
        plugins: ['UIDPLUS', 'MOVE', 'SPECIAL-USE'],
        storage: {
          INBOX: {
            messages: [
              { raw: Buffer.from(wrappedReport('erin@examplecorp.com', [LURE])).toString('latin1'), flags: [] },
              { raw: 'From: old@examplecorp.com\r\nSubject: seen already\r\nMessage-ID: <old@x>\r\n\r\nx', flags: ['\\Seen'] },
            ],
          },
          '': { separator: '/', folders: { Processed: { messages: [] } } },
        },
        users: { 'phish-report': { password: 'imap-pass-123' } },
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.server.address() as { port: number }).port;
    });
    after(async () => {
      await runtime?.close();
      server?.close();
      await t?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const open = (allow: string[]) =>
      openRuntime(
        loadConfig({
          env: t.env,
          cwd: tmpdir(),
          overrides: {
            'log.level': 'silent',
            data_dir: dir,
            'engine.playbooks_dir': dir,
            'engine.runner': false,
            'integrations.http_allow': allow,
            'phishing.imap': [{ host: '127.0.0.1', port, security: 'none', username: 'phish-report', password_secret: 'imap_report', move_to: 'Processed' }],
            ...settingsOverrides(),
          },
        }),
        createLogger({ level: 'silent' }),
        { env: { RIPOSTE_SECRET_IMAP_REPORT: 'imap-pass-123', RIPOSTE_MASTER_KEY: '5a'.repeat(32) }, announce: () => {} },
      );

    test('a loopback IMAP server that is not allow-listed is refused', async () => {
      const guarded = await open([]);
      try {
        const result = await guarded.phishingPoller.pollOnce();
        assert.equal(result.taken, 0);
        assert.equal(server.getMailbox('INBOX')?.messages.length, 2);
      } finally {
        await guarded.close();
      }
    });

    test('unseen reports are taken in once, filed on a case, marked seen and moved', async () => {
      runtime = await open(['127.0.0.1']);
      const first = await runtime.phishingPoller.pollOnce();
      assert.equal(first.taken, 1, JSON.stringify(first));
      const report = first.reports[0];
      assert.equal(report?.reporter, 'erin@examplecorp.com');
      assert.equal(report?.analyses[0]?.verdict, 'malicious');
      assert.equal((await runtime.store.phishing.getReport(report?.report_id ?? ''))?.source, 'imap');
      assert.deepEqual(
        (await runtime.store.phishing.reportersOf(report?.analyses[0]?.case_id ?? '')).map((r) => r.reporter),
        ['erin@examplecorp.com'],
      );
      const processed = server.getMailbox('Processed')?.messages ?? [];
      assert.equal(processed.length, 1);
      assert.ok(processed[0]?.flags.includes('\\Seen'));
      assert.equal(server.getMailbox('INBOX')?.messages.length, 1);
      const second = await runtime.phishingPoller.pollOnce();
      assert.equal(second.taken, 0);
    });
  });
}
