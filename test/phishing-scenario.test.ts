import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import {
  GRAPH_SCOPE,
  GraphMailTenant,
  graphMailHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
  type VendorSimulator,
} from '../src/lab/index.ts';
import { type SmtpSink, startSmtpSink } from '../src/lab/smtp-sink.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { settingsOverrides, tokenFor, wrappedReport } from './phishing-fixtures.ts';

/**
 * Scenario 2 end to end, with real parts: the HTTP API and the Graph reporting mailbox take reports in, the
 * phishing-triage playbook runs, the reporter's e-mails go through a real SMTP server, and a malicious
 * campaign is blocked and purged from every mailbox of the Graph simulator once two approvers approve.
 * A benign newsletter is answered as safe and nothing is purged. Report → notified times are printed
 * (BENCHMARKS.md), never asserted.
 */
const ROOT = resolve(import.meta.dirname, '..');
const CORPUS = join(ROOT, 'test/fixtures/email/corpus');
const CAMPAIGN = readFileSync(join(CORPUS, 'phish/html-credential-page.eml'));
const CAMPAIGN_ID = '<html-credential-page@corpus.riposte.test>';
const NEWSLETTER = readFileSync(join(CORPUS, 'legit/newsletter-tracking.eml'));
const NEWSLETTER_ID = '<newsletter-tracking@corpus.riposte.test>';
const MAILBOXES = 6;
const MASTER_KEY = '5a'.repeat(32);

const POLICY = `id: phishing-scenario
version: 1
defaults:
  approval: { approvers: 1, roles: [approver, admin], expires: 4h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: campaign-containment
    actions: ["msgraph_mail.purge_messages", "phishing.block_indicators"]
    impact: [destructive]
    decision: require_approval
    approval: { approvers: 2, expires: 1h }
    reason: blocking or purging a campaign needs two people
  - id: routine-write
    impact: [write]
    decision: allow
    reason: routine write
`;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The Subject header unfolded, its RFC 2047 encoded words decoded (nodemailer encodes non-trivial subjects). */
function subjectOf(raw: string): string {
  const head = (raw.split(/\r?\n\r?\n/, 1)[0] ?? '').replace(/\r?\n[ \t]+/g, ' ');
  const value = /^subject:[ \t]*(.*)$/im.exec(head)?.[1] ?? '';
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_h, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

for (const backend of testBackends()) {
  describe(`phishing triage end to end (${backend.backend})`, () => {
    let t: TestStore;
    let runtime: Runtime;
    let server: RunningServer;
    let sink: SmtpSink;
    let login: VendorSimulator;
    let graph: VendorSimulator;
    const tenant = new GraphMailTenant();
    const issuer = new TokenIssuer();
    const dir = mkdtempSync(join(tmpdir(), 'riposte-phish-e2e-'));
    let analyst: string;
    const approvers: string[] = [];

    before(async () => {
      t = await backend.open();
      await t.store.close();
      sink = await startSmtpSink();
      login = await startSimulator(identityPlatformHandler(issuer, [GRAPH_SCOPE]));
      let graphUrl = '';
      graph = await startSimulator(graphMailHandler(tenant, issuer, { baseUrl: () => graphUrl }));
      graphUrl = graph.url;
      for (let i = 0; i < MAILBOXES; i++) tenant.deliver(`user${i}@examplecorp.com`, CAMPAIGN.toString('latin1'));
      tenant.deliver('user0@examplecorp.com', NEWSLETTER.toString('latin1'));
      tenant.addMailbox('bystander@examplecorp.com');
      tenant.addMailbox('phish-report@examplecorp.com');
      const policyFile = join(dir, 'policy.yml');
      writeFileSync(policyFile, POLICY);
      const config = loadConfig({
        env: t.env,
        cwd: tmpdir(),
        overrides: {
          'log.level': 'silent',
          data_dir: dir,
          'engine.playbooks_dir': join(ROOT, 'playbooks'),
          'integrations.http_allow': ['127.0.0.1'],
          'policy.file': policyFile,
          'phishing.mailboxes': [{ integration: 'msgraph_mail', mailbox: 'phish-report@examplecorp.com', move_to: 'archive' }],
          'phishing.poll_interval': '1h',
          ...settingsOverrides(),
        },
      });
      // Integration instances are registered with the engine when the runtime opens: configure them first.
      const setup = await openRuntime(config, createLogger({ level: 'silent' }), { env: { RIPOSTE_MASTER_KEY: MASTER_KEY }, announce: () => {} });
      await setup.integrations.add({
        name: 'email',
        integration: 'email',
        config: { host: '127.0.0.1', port: sink.port, security: 'none', from: 'soc@examplecorp.com' },
        secrets: { password: '-' },
      });
      await setup.integrations.add({
        name: 'msgraph_mail',
        integration: 'msgraph_mail',
        config: { baseUrl: graph.url, loginUrl: login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID },
        secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
      });
      await setup.close();
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), {
        env: { RIPOSTE_MASTER_KEY: MASTER_KEY },
        announce: () => {},
        runner: { pollMs: 20 },
      });
      server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      analyst = await tokenFor(runtime, 'analyst');
      approvers.push(await tokenFor(runtime, 'approver', 'approver-one'), await tokenFor(runtime, 'approver', 'approver-two'));
    });
    after(async () => {
      await server?.close();
      await sink?.close();
      await login?.close();
      await graph?.close();
      await t?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const mailsTo = (address: string) => sink.messages.filter((m) => m.to.includes(address)).map((m) => ({ ...m, subject: subjectOf(m.raw) }));

    async function submit(reporter: string, content: Uint8Array) {
      const res = await fetch(`${server.url}/api/v1/phishing/reports?reporter=${encodeURIComponent(reporter)}`, {
        method: 'POST',
        body: content,
        headers: { authorization: `Bearer ${analyst}`, 'content-type': 'message/rfc822' },
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { analyses: Array<{ case_id: string; analysis_id: string; verdict: string }> };
    }

    async function runOf(caseId: string): Promise<string> {
      return until('the triage run', async () => {
        const runs = await runtime.cases.runsOf(caseId);
        return runs[0]?.run_id;
      });
    }

    test('a malicious campaign: acknowledged, told the verdict, then blocked and purged from every mailbox after the second approver', async () => {
      const started = performance.now();
      const report = await submit('ann@examplecorp.com', CAMPAIGN);
      const caseId = report.analyses[0]?.case_id ?? '';
      assert.equal(report.analyses[0]?.verdict, 'malicious');
      await until('acknowledgement', () => mailsTo('ann@examplecorp.com').find((m) => /We received your report/.test(m.subject)));
      const verdict = await until('verdict mail', () => mailsTo('ann@examplecorp.com').find((m) => /Result of your report/.test(m.subject)));
      const notifiedMs = performance.now() - started;
      assert.match(verdict.decoded, /Result: malicious/);
      assert.match(verdict.decoded, /Do not click/);
      // The reporter's mail never carries a clickable copy of the lure's link.
      assert.doesNotMatch(verdict.decoded, /https:\/\/voicemail-examplecorp\.top/);

      const runId = await runOf(caseId);
      // Containment waits for two people; one approval is not enough.
      let decided = 0;
      for (let round = 0; round < 2; round++) {
        const pending = await until('a containment approval', async () => {
          const res = await fetch(`${server.url}/api/v1/approvals`, { headers: { authorization: `Bearer ${approvers[0]}` } });
          const body = (await res.json()) as {
            items: Array<{ id: string; status: string; run_id: string | null; action: string | null }>;
          };
          return body.items.find((a) => a.run_id === runId && a.status === 'pending');
        });
        assert.match(pending.action ?? '', /phishing\.block_indicators|msgraph_mail\.purge_messages/);
        const detail = (await (
          await fetch(`${server.url}/api/v1/approvals/${pending.id}`, { headers: { authorization: `Bearer ${approvers[0]}` } })
        ).json()) as {
          approval?: { request?: { arguments_hash?: string } };
        };
        const argumentsHash = detail.approval?.request?.arguments_hash;
        assert.ok(argumentsHash, JSON.stringify(detail));
        for (const [i, token] of approvers.entries()) {
          if (pending.action === 'msgraph_mail.purge_messages' && i === 1) {
            // Before the second approval nothing is purged.
            assert.ok(tenant.copies(CAMPAIGN_ID).every((c) => c.folder === 'inbox'));
          }
          const res = await fetch(`${server.url}/api/v1/approvals/${pending.id}/decide`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ decision: 'approve', arguments_hash: argumentsHash }),
          });
          assert.equal(res.status, 200, await res.clone().text());
          decided++;
        }
      }
      assert.equal(decided, 4);
      const run = await runtime.engine.waitForRun(runId, 60_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const output = run.output as { verdict: string; found: number; purged: number; blocked: boolean };
      assert.deepEqual([output.verdict, output.found, output.purged, output.blocked], ['malicious', MAILBOXES, MAILBOXES, true]);
      const copies = tenant.copies(CAMPAIGN_ID);
      assert.equal(copies.length, MAILBOXES);
      assert.ok(
        copies.every((c) => c.folder === 'deleteditems'),
        JSON.stringify(copies),
      );
      assert.equal(tenant.copies(NEWSLETTER_ID)[0]?.folder, 'inbox');
      const comments = await runtime.cases.listComments(caseId);
      assert.ok(
        comments.some((c) => /searched 8 mailbox\(es\), found 6 cop\(ies\), purged 6/.test(c.body)),
        JSON.stringify(comments.map((c) => c.body)),
      );
      const view = await runtime.cases.getCase(caseId);
      assert.ok(view.techniques.includes('T1566.002'), JSON.stringify(view.techniques));
      // The block is real: the URL is served in the URL EDL a proxy or firewall imports (no scheme), the
      // sender on the list a mail gateway imports, the lookalike link domain on the domain EDL.
      const served = async (list: string) => {
        const res = await fetch(`${server.url}/edl/${list}`, { headers: { authorization: `Bearer ${analyst}` } });
        assert.equal(res.status, 200, await res.clone().text());
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        return (await res.text()).split('\n').filter(Boolean);
      };
      assert.ok((await served('riposte-urls')).includes('voicemail-examplecorp.top/collect.php'), JSON.stringify(await served('riposte-urls')));
      assert.deepEqual(await served('riposte-senders'), ['voicemail@vm-notify.net']);
      assert.deepEqual(await served('riposte-domains'), ['voicemail-examplecorp.top']);
      assert.equal(await runtime.store.settings.get('phishing.blocklist'), undefined);
      // Recorded as a contained action with the 30-day default expiry; rolling it back takes every entry off.
      const admin = await tokenFor(runtime, 'admin');
      const listed = (await (await fetch(`${server.url}/api/v1/actions?run=${runId}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
        items: Array<{ id: string; action: string; status: string; expires_at: string | null; created_at: string }>;
      };
      const contained = listed.items.find((a) => a.action === 'phishing.block_indicators');
      assert.ok(contained, JSON.stringify(listed));
      assert.equal(contained.status, 'active');
      const lifetimeDays = (Date.parse(contained.expires_at ?? '') - Date.parse(contained.created_at)) / 86_400_000;
      assert.ok(lifetimeDays > 29.9 && lifetimeDays < 30.1, String(lifetimeDays));
      const rollback = await fetch(`${server.url}/api/v1/actions/${contained.id}/rollback?wait=30`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'false positive after review' }),
      });
      assert.equal(rollback.status, 200, await rollback.clone().text());
      assert.equal(((await rollback.json()) as { action: { status: string } }).action.status, 'rolled_back');
      assert.deepEqual(await served('riposte-urls'), []);
      assert.deepEqual(await served('riposte-senders'), []);
      assert.deepEqual(await served('riposte-domains'), []);
      console.log(JSON.stringify({ figure: 'phishing.report_to_notified_ms', backend: backend.backend, malicious: Math.round(notifiedMs) }));
    });

    test('a newsletter reported through the Graph reporting mailbox: the reporter is told it is safe, nothing is purged', async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const reporter = `bob${i}@examplecorp.com`;
        tenant.deliver('phish-report@examplecorp.com', Buffer.from(wrappedReport(reporter, [NEWSLETTER])).toString('latin1'));
        const started = performance.now();
        const polled = await runtime.phishingPoller.pollOnce();
        assert.equal(polled.taken, 1);
        const verdict = await until('verdict mail', () => mailsTo(reporter).find((m) => /Result of your report/.test(m.subject)));
        times.push(performance.now() - started);
        assert.match(verdict.subject, /is safe/);
        assert.match(verdict.decoded, /It is safe/);
        const caseId = polled.reports[0]?.analyses[0]?.case_id ?? '';
        const run = await runtime.engine.waitForRun(await runOf(caseId), 60_000);
        assert.equal(run.status, 'succeeded');
        assert.equal((run.output as { purged: number }).purged, 0);
      }
      // Taken once: every report was marked read and moved out of the inbox.
      assert.equal((await runtime.phishingPoller.pollOnce()).taken, 0);
      assert.equal(tenant.copies(NEWSLETTER_ID)[0]?.folder, 'inbox');
      const reporters = await runtime.store.phishing.reportersOf((await submit('carol@examplecorp.com', NEWSLETTER)).analyses[0]?.case_id ?? '');
      assert.equal(reporters.length, 6);
      console.log(
        JSON.stringify({
          figure: 'phishing.report_to_notified_ms',
          backend: backend.backend,
          benign_p50: Math.round(percentile(times, 50)),
          benign_max: Math.round(Math.max(...times)),
        }),
      );
    });

    test('a reported subject carrying CR/LF cannot add headers to the reporter e-mails', async () => {
      const lure = Buffer.from(
        'From: "Billing" <billing@invoices-example.top>\r\nTo: dan@examplecorp.com\r\nSubject: =?UTF-8?Q?Invoice=0D=0ABcc:_evil@attacker.example=0D=0AX-Injected:_1?=\r\nMessage-ID: <inject-1@invoices-example.top>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPay now: https://invoices-example.top/pay\r\n',
      );
      const report = await submit('dan@examplecorp.com', lure);
      await until('verdict mail', () => mailsTo('dan@examplecorp.com').find((m) => /Result of your report/.test(m.subject)));
      for (const mail of mailsTo('dan@examplecorp.com')) {
        assert.deepEqual(mail.to, ['dan@examplecorp.com']);
        const head = mail.raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
        assert.doesNotMatch(head, /^(bcc|x-injected):/im, head);
      }
      assert.ok(!sink.messages.some((m) => m.to.includes('evil@attacker.example')));
      await runtime.engine.waitForRun(await runOf(report.analyses[0]?.case_id ?? ''), 60_000, { untilWaiting: true });
    });
  });
}
