import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { settingsOverrides, tokenFor, wrappedReport } from './phishing-fixtures.ts';

/**
 * Reported-phishing intake through the real HTTP API: raw and multipart uploads, a report wrapping two
 * e-mails, clustering of identical reports into one case with every reporter, and bad input refused
 * with a clear 4xx while an unreadable report is still kept.
 */
const CORPUS = resolve(import.meta.dirname, 'fixtures/email/corpus');
const corpus = (name: string) => readFileSync(join(CORPUS, name));

for (const backend of testBackends()) {
  describe(`phishing intake API (${backend.backend})`, () => {
    let t: TestStore;
    let runtime: Runtime;
    let server: RunningServer;
    let analyst: string;
    let viewer: string;
    const playbooks = mkdtempSync(join(tmpdir(), 'riposte-phish-intake-'));
    before(async () => {
      t = await backend.open();
      await t.store.close();
      const config = loadConfig({
        env: t.env,
        cwd: tmpdir(),
        overrides: { 'log.level': 'silent', 'engine.playbooks_dir': playbooks, 'engine.runner': false, ...settingsOverrides() },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
      server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      analyst = await tokenFor(runtime, 'analyst');
      viewer = await tokenFor(runtime, 'viewer');
    });
    after(async () => {
      await server?.close();
      await t?.dispose().catch(() => {});
      rmSync(playbooks, { recursive: true, force: true });
    });

    const post = (path: string, body: RequestInit['body'], headers: Record<string, string>, token = analyst) =>
      fetch(`${server.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers } });

    test('a raw .eml opens a case with the verdict, observables and ATT&CK techniques', async () => {
      const res = await post('/api/v1/phishing/reports?reporter=Ann%20%3Cann@examplecorp.com%3E', corpus('phish/html-credential-page.eml'), {
        'content-type': 'message/rfc822',
      });
      assert.equal(res.status, 201, await res.clone().text());
      const body = (await res.json()) as { report_id: string; reporter: string; analyses: Array<{ case_id: string; verdict: string; joined: boolean }> };
      assert.equal(body.reporter, 'ann@examplecorp.com');
      assert.equal(body.analyses.length, 1);
      const [analysis] = body.analyses;
      assert.equal(analysis?.verdict, 'malicious');
      assert.equal(analysis?.joined, false);
      const view = await runtime.cases.getCase(analysis?.case_id ?? '');
      assert.match(view.title, /voicemail/);
      assert.ok(view.tags.includes('phishing'));
      assert.ok(
        view.techniques.some((t) => t.startsWith('T1566')),
        JSON.stringify(view.techniques),
      );
      const observables = await runtime.cases.observablesOf(view.id);
      assert.ok(
        observables.some((o) => o.type === 'url' && o.value.includes('voicemail-examplecorp.top')),
        JSON.stringify(observables.map((o) => o.value)),
      );
      const stored = await runtime.store.phishing.analysesOfReport(body.report_id);
      assert.equal(stored.length, 1);
      assert.equal((stored[0]?.result as { verdict: string } | undefined)?.verdict, 'malicious');
      assert.equal((await runtime.store.phishing.getReport(body.report_id))?.status, 'analysed');
    });

    test('the same e-mail reported by others (multipart, then wrapped) joins the case; every reporter is recorded', async () => {
      const form = new FormData();
      form.set('reporter', 'bob@examplecorp.com');
      form.set('file', new Blob([corpus('phish/html-credential-page.eml')], { type: 'message/rfc822' }), 'voicemail.eml');
      const second = await post('/api/v1/phishing/reports', form, {});
      assert.equal(second.status, 201, await second.clone().text());
      const b = (await second.json()) as { analyses: Array<{ case_id: string; joined: boolean }> };
      assert.equal(b.analyses[0]?.joined, true);

      // One report button submission carrying the same voicemail lure and a newsletter: two analyses, two cases.
      const wrapped = wrappedReport('carol@examplecorp.com', [corpus('phish/html-credential-page.eml'), corpus('legit/newsletter-tracking.eml')]);
      const third = await post('/api/v1/phishing/reports?reporter=carol@examplecorp.com', wrapped, { 'content-type': 'message/rfc822' });
      assert.equal(third.status, 201, await third.clone().text());
      const c = (await third.json()) as { analyses: Array<{ case_id: string; joined: boolean; verdict: string }> };
      assert.equal(c.analyses.length, 2);
      const [lure, newsletter] = c.analyses;
      assert.equal(lure?.case_id, b.analyses[0]?.case_id);
      assert.equal(lure?.joined, true);
      assert.notEqual(newsletter?.case_id, lure?.case_id);
      assert.equal(newsletter?.verdict, 'graymail');
      const reporters = await runtime.store.phishing.reportersOf(lure?.case_id ?? '');
      assert.deepEqual(reporters.map((r) => r.reporter).sort(), ['ann@examplecorp.com', 'bob@examplecorp.com', 'carol@examplecorp.com']);
      assert.equal((await runtime.store.phishing.analysesOfCase(lure?.case_id ?? '')).length, 3);
    });

    test('bad input gets a clear 4xx; an unreadable report is kept with the reason', async () => {
      const noReporter = await post('/api/v1/phishing/reports', corpus('legit/receipt-shop.eml'), { 'content-type': 'message/rfc822' });
      assert.equal(noReporter.status, 400);
      assert.equal(((await noReporter.json()) as { code: string }).code, 'phishing.bad_reporter');
      const badReporter = await post('/api/v1/phishing/reports?reporter=ann%0d%0abcc:x@y', corpus('legit/receipt-shop.eml'), {
        'content-type': 'message/rfc822',
      });
      assert.equal(badReporter.status, 400);
      const empty = await post('/api/v1/phishing/reports?reporter=ann@examplecorp.com', '', { 'content-type': 'message/rfc822' });
      assert.equal(empty.status, 400);
      const json = await post('/api/v1/phishing/reports?reporter=ann@examplecorp.com', '{}', { 'content-type': 'application/json' });
      assert.equal(json.status, 415);
      const form = new FormData();
      form.set('reporter', 'ann@examplecorp.com');
      const noFile = await post('/api/v1/phishing/reports', form, {});
      assert.equal(noFile.status, 400);
      assert.equal(((await noFile.json()) as { code: string }).code, 'phishing.empty_report');

      const before = (await runtime.store.phishing.listReports({ limit: 100 })).length;
      const garbage = await post('/api/v1/phishing/reports?reporter=ann@examplecorp.com&filename=broken.msg', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3]), {
        'content-type': 'application/vnd.ms-outlook',
      });
      assert.equal(garbage.status, 422, await garbage.clone().text());
      const problem = (await garbage.json()) as { code: string; reports: Array<{ report_id: string }> };
      const kept = await runtime.store.phishing.getReport(problem.reports[0]?.report_id ?? '');
      assert.equal(kept?.status, 'failed');
      assert.equal(kept?.filename, 'broken.msg');
      assert.ok(kept?.error?.message);
      assert.equal((await runtime.store.phishing.listReports({ limit: 100 })).length, before + 1);
    });

    test('a viewer may not submit; without credentials it is 401', async () => {
      const asViewer = await post(
        '/api/v1/phishing/reports?reporter=ann@examplecorp.com',
        corpus('legit/receipt-shop.eml'),
        { 'content-type': 'message/rfc822' },
        viewer,
      );
      assert.equal(asViewer.status, 403);
      const anonymous = await fetch(`${server.url}/api/v1/phishing/reports?reporter=ann@examplecorp.com`, {
        method: 'POST',
        body: 'x',
        headers: { 'content-type': 'message/rfc822' },
      });
      assert.equal(anonymous.status, 401);
    });
  });
}
