import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { integrationInstanceService, masterKeyFor, openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import { type Config, createLogger, loadConfig } from '../src/core/index.ts';
import { fireIpAlert, type Lab, SIMULATOR_API_KEY, startLab } from '../src/lab/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Scenario 1 end to end, as an operator would see it: a running Riposte wired to the lab simulators (at
 * their default latency) receives a Splunk notable about an outside IP on its webhook. The alert becomes a
 * case, the ip-enrichment playbook enriches the IP from six sources, records every result, the verdict,
 * its confidence and reasons on the case, and — for the malicious host on a non-critical server — blocks it
 * on the EDL firewalls poll and files a Jira ticket. CDN and partner addresses are never called malicious
 * nor blocked, and the case says why; a source that is down is named by the verdict; a critical server
 * sends the block to an approver instead.
 */
const WEBHOOK_TOKEN = 'lab-webhook-token-0123456789';
const MALICIOUS = '185.220.101.47';
const CDN = '104.16.132.229';
const PARTNER = '195.12.50.17';
const SOURCES = ['virustotal', 'abuseipdb', 'greynoise', 'otx', 'shodan', 'ipinfo'];
const ASSETS = `ip,hostname,name,owner,criticality,environment
10.20.30.40,web-01.corp.example,web-01,Web team,medium,production
10.20.30.50,db-prod-01.corp.example,db-prod-01,Payments,critical,production
`;

interface Enrichment {
  verdict: string;
  confidence: number;
  reasons: string[];
  sources: Record<string, { evaluation: string; error?: string }>;
  answered: string[];
  missing: string[];
}

for (const backend of testBackends()) {
  describe(`suspicious-IP scenario end to end (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-ip-scenario-'));
    const env = { RIPOSTE_MASTER_KEY: randomBytes(32).toString('hex') };
    let lab: Lab;
    let testStore: TestStore;
    let runtime: Runtime;
    let server: RunningServer;
    let edlAuth: string;

    before(async () => {
      lab = await startLab();
      writeFileSync(join(dir, 'assets.csv'), ASSETS);
      testStore = await backend.open();
      const config: Config = loadConfig({
        env: testStore.env,
        cwd: dir,
        overrides: {
          'log.level': 'silent',
          'engine.playbooks_dir': join(import.meta.dirname, '../playbooks'),
          'integrations.http_allow': ['127.0.0.1'],
          'webhooks.splunk.tokens': [WEBHOOK_TOKEN],
          'intel.partners': [{ value: '195.12.50.0/24', label: 'Northwind Traders VPN' }],
          'policy.allow_lists': { partners: [{ name: 'Northwind Traders', cidrs: ['195.12.50.0/24'] }] },
        },
      });
      // Instances go in before the runtime opens: it registers their actions at start, like `riposte serve`.
      const instances = integrationInstanceService({ store: testStore.store, config, masterKey: () => masterKeyFor(config, undefined, env) });
      const accounts: Record<string, Record<string, unknown>> = { jira: { email: 'soc@riposte.lab' } };
      for (const vendor of [...SOURCES, 'jira']) {
        const secret = vendor === 'ipinfo' ? 'token' : vendor === 'jira' ? 'apiToken' : 'apiKey';
        await instances.add({
          name: vendor,
          integration: vendor,
          config: { baseUrl: lab.simulators[vendor]?.url, ...accounts[vendor] },
          secrets: { [secret]: SIMULATOR_API_KEY },
        });
      }
      await instances.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await testStore.store.close();
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env, announce: () => {}, runner: { pollMs: 20 } });
      server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      await runtime.auth.createUser({ name: 'firewall', roles: ['viewer'] });
      const { token } = await runtime.auth.createToken({ userName: 'firewall', scopes: ['edl:read'] });
      edlAuth = `Basic ${Buffer.from(`firewall:${token}`).toString('base64')}`;
    });
    after(async () => {
      await server?.close();
      await lab?.close();
      await testStore?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    async function fire(ip: string, dest: string): Promise<string> {
      const answer = await fireIpAlert(server.url, WEBHOOK_TOKEN, { ip, dest });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      const caseId = (answer.body as { results: Array<{ case_id: string }> }).results[0]?.case_id;
      assert.ok(caseId);
      return caseId;
    }

    async function edl(): Promise<string[]> {
      const response = await fetch(`${server.url}/edl/riposte-block`, { headers: { authorization: edlAuth } });
      assert.equal(response.status, 200);
      return (await response.text()).split('\n').filter(Boolean);
    }

    async function enrichmentOf(ip: string): Promise<Enrichment | undefined> {
      try {
        const observable = await runtime.cases.findObservable('ipv4', ip);
        return observable.verdict === null ? undefined : (observable.enrichment as unknown as Enrichment);
      } catch {
        return undefined;
      }
    }

    /** Polls until `check` holds (no timing is asserted: the elapsed time is reported). */
    async function until<T>(what: string, check: () => Promise<T | undefined>, limitMs = 20_000): Promise<{ value: T; ms: number }> {
      const started = performance.now();
      for (;;) {
        const value = await check();
        if (value !== undefined) return { value, ms: Math.round(performance.now() - started) };
        if (performance.now() - started > limitMs) assert.fail(`${what} did not happen within ${limitMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    /** The ip-enrichment run the alert about `ip` started on the case, once finished. */
    async function finishedRun(caseId: string, ip: string): Promise<Awaited<ReturnType<Runtime['engine']['getRun']>>> {
      const { value: runId } = await until('the run is linked to the case', async () => {
        for (const link of await runtime.cases.runsOf(caseId)) {
          const run = await runtime.engine.getRun(link.run_id);
          if ((run.inputs as { ip?: string }).ip === ip) return link.run_id;
        }
        return undefined;
      });
      return runtime.engine.waitForRun(runId, 20_000);
    }

    async function comments(caseId: string): Promise<string> {
      return (await runtime.cases.listComments(caseId)).map((c) => c.body).join('\n');
    }

    test('a malicious IP: enriched from six sources, verdict with reasons on the case, blocked on the EDL with an expiry and ticketed', async (t) => {
      const started = performance.now();
      const caseId = await fire(MALICIOUS, '10.20.30.40');
      const { value: enrichment } = await until('the case shows the enriched observable', async () => {
        const e = await enrichmentOf(MALICIOUS);
        return e && (await edl()).includes(MALICIOUS) ? e : undefined;
      });
      const ms = Math.round(performance.now() - started);
      t.diagnostic(`alert to enriched case and EDL block: ${ms} ms (${backend.backend}; acceptance target 2000 ms)`);
      assert.equal(enrichment.verdict, 'malicious');
      assert.ok(enrichment.confidence >= 85, `confidence ${enrichment.confidence}`);
      assert.ok(enrichment.reasons.length > 0);
      assert.deepEqual([...enrichment.answered].sort(), [...SOURCES].sort());
      for (const source of SOURCES) assert.ok(enrichment.sources[source]?.evaluation, `no result from ${source}`);
      const observable = await runtime.cases.findObservable('ipv4', MALICIOUS);
      assert.ok(
        observable.cases.some((c) => c.case_id === caseId),
        'the observable is on the case',
      );

      const run = await finishedRun(caseId, MALICIOUS);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      if (process.env.RIPOSTE_TEST_TRACE) {
        const history = await runtime.engine.getRun(run.id, { history: true });
        const start = history.createdAt;
        t.diagnostic(JSON.stringify(history.steps?.map((s) => [s.key, s.status, s.at - (Number.isFinite(start) ? start : 0)])));
      }
      const output = run.output as { response: string; blocked_until: string; ticket: string };
      assert.equal(output.response, 'blocked');
      assert.ok(Date.parse(output.blocked_until) > Date.now() + 23 * 3_600_000, 'the block carries a 24h expiry');
      assert.match(output.ticket, /^SEC-\d+$/);
      assert.ok(lab.simulators.jira?.requests.some((r) => r.method === 'POST' && r.path === '/rest/api/3/issue'));

      const timeline = (await runtime.cases.timeline(caseId, { limit: 200 })).items;
      const kinds = timeline.map((e) => e.kind);
      for (const kind of ['observable.enriched', 'policy.decision', 'edl.added'])
        assert.ok(kinds.includes(kind), `timeline lacks ${kind}: ${kinds.join(', ')}`);
      assert.match(await comments(caseId), new RegExp(`Blocked ${MALICIOUS.replace(/\./g, '\\.')} at the EDL riposte-block until .*ticket SEC-`));
      assert.ok((await runtime.cases.getCase(caseId)).tags.includes('response:blocked'));
    });

    test('CDN and partner IPs are never malicious, never blocked, and the case explains why', async () => {
      for (const [ip, why] of [
        [CDN, /warning list|CDN|Cloudflare|known-good/i],
        [PARTNER, /partner|Northwind/i],
      ] as const) {
        const caseId = await fire(ip, '10.20.30.40');
        const run = await finishedRun(caseId, ip);
        assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
        const enrichment = await enrichmentOf(ip);
        assert.ok(enrichment, `${ip} was not recorded`);
        assert.notEqual(enrichment.verdict, 'malicious', `${ip}: ${enrichment.reasons.join(' | ')}`);
        assert.match(enrichment.reasons.join('\n'), why);
        assert.equal((run.output as { response: string }).response, 'annotated');
        assert.ok(!(await edl()).includes(ip), `${ip} must not be on the EDL`);
        const said = await comments(caseId);
        assert.match(said, /Annotated only/);
        assert.match(said, why);
      }
    });

    test('with one source down the verdict still comes and names the missing source', async () => {
      lab.simulators.abuseipdb?.failNext({ kind: 'status', status: 503 }, 3);
      await fire('45.155.205.233', '10.20.30.41');
      const { value: enrichment } = await until('the verdict is recorded', () => enrichmentOf('45.155.205.233'));
      assert.equal(enrichment.verdict, 'malicious');
      assert.deepEqual(enrichment.missing, ['abuseipdb']);
      assert.match(enrichment.sources.abuseipdb?.error ?? '', /integration.unavailable/);
      assert.ok(
        enrichment.reasons.some((r) => /abuseipdb: no answer/.test(r)),
        enrichment.reasons.join('\n'),
      );
    });

    test('a block that would touch a critical server waits for an approver instead', async () => {
      const caseId = await fire(MALICIOUS, '10.20.30.50');
      const { value: approval } = await until('the block is held for approval', async () => {
        const pending = (await runtime.guardrails.inbox()).filter((a) => a.kind === 'policy' && a.action === 'edl.block_ip' && a.case_id === caseId);
        return pending[0];
      });
      const held = await runtime.guardrails.get(approval.id);
      assert.match(JSON.stringify(held.request), /critical asset/);
      // The decision lands on the timeline just after the approval is opened.
      await until('the case timeline names the critical asset', async () => {
        const timeline = (await runtime.cases.timeline(caseId, { limit: 200 })).items;
        return timeline.find((e) => e.kind === 'policy.decision' && /needs 1 approver/.test(e.summary) && /db-prod-01/.test(e.summary));
      });
    });
  });
}
