import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { integrationActions, verdictAction } from '../src/app/integration-actions.ts';
import { INTEGRATIONS } from '../src/integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../src/integrations/sdk/index.ts';
import { KnownGoodLists } from '../src/intel/index.ts';
import { type Lab, SEED_IPS, SIMULATOR_API_KEY, startLab, UNKNOWN_IP } from '../src/lab/index.ts';

/**
 * The suspicious-IP scenario over the six simulated threat-intel services: every seeded profile gets the
 * verdict an analyst expects, a CDN or partner IP is never malicious, and a source that is down is named.
 */
let lab: Lab;
let actions: Map<string, ReturnType<typeof integrationActions>[number]>;
let instances: IntegrationInstance[];
const lists = KnownGoodLists.load({ allow: { partners: [{ value: '195.12.50.0/24', label: 'Northwind Traders VPN' }] } });
const verdict = verdictAction(() => lists);
const SOURCES: Array<[string, string]> = [
  ['virustotal', 'ip_report'],
  ['abuseipdb', 'check'],
  ['greynoise', 'community'],
  ['otx', 'ip_general'],
  ['shodan', 'host'],
  ['ipinfo', 'ip_details'],
];

before(async () => {
  lab = await startLab();
  // Every product with a simulator in the lab (mail, EDR and chat integrations have their own tests).
  instances = INTEGRATIONS.filter((integration) => lab.simulators[integration.id] !== undefined).map((integration) =>
    createIntegrationInstance(
      integration,
      {
        name: integration.id,
        config: { baseUrl: lab.simulators[integration.id]?.url },
        secrets: Object.fromEntries(Object.keys(integration.secrets).map((name) => [name, SIMULATOR_API_KEY])),
      },
      { guard: { allow: ['127.0.0.1'] }, timeoutMs: 500, retry: { attempts: 2, baseDelayMs: 5 } },
    ),
  );
  actions = new Map(integrationActions(instances).map((a) => [a.id, a]));
});
after(() => lab.close());

const context = (step: string) => ({
  idempotencyKey: `run-1:${step}`,
  runId: 'run-1',
  stepKey: step,
  attempt: 1,
  signal: new AbortController().signal,
  logger: undefined,
});

async function enrichAndJudge(ip: string) {
  const outputs: Record<string, unknown> = {};
  await Promise.all(
    SOURCES.map(async ([instance, action]) => {
      try {
        outputs[instance] = await actions.get(`${instance}.${action}`)?.run({ ip }, context(instance));
      } catch (error) {
        outputs[instance] = { error: { code: (error as { code?: string }).code, message: (error as Error).message } };
      }
    }),
  );
  return verdict.run({ observable: ip, evidence: outputs, expected: SOURCES.map(([s]) => s) }, context('verdict')) as ReturnType<
    typeof import('../src/intel/index.ts').scoreVerdict
  >;
}

describe('suspicious IP enrichment against the simulators', () => {
  test('registers every instance action as <instance>.<action>', () => {
    for (const [instance, action] of SOURCES) assert.ok(actions.has(`${instance}.${action}`));
    assert.ok(actions.has('virustotal.file_report'));
  });

  test('each seeded profile gets the verdict an analyst expects', async () => {
    const expected: Record<string, string[]> = {
      malicious: ['malicious'],
      suspicious: ['suspicious'],
      benign: ['benign'],
      scanner: ['suspicious', 'benign'],
      cdn: ['benign', 'suspicious'],
      partner: ['benign'],
    };
    for (const seed of SEED_IPS) {
      const result = await enrichAndJudge(seed.ip);
      assert.ok(expected[seed.profile]?.includes(result.verdict), `${seed.ip} (${seed.profile}) → ${result.verdict}: ${result.reasons.join(' | ')}`);
      assert.equal(result.sources.answered.length, 6, `${seed.ip}: ${result.sources.missing.join(',')}`);
      if (seed.profile === 'malicious') assert.ok(result.confidence >= 70, `${seed.ip} confidence ${result.confidence}`);
    }
    assert.equal((await enrichAndJudge(UNKNOWN_IP)).verdict, 'unknown');
  });

  test('a CDN or partner IP is never called malicious', async () => {
    for (const seed of SEED_IPS.filter((s) => s.profile === 'cdn' || s.profile === 'partner'))
      assert.notEqual((await enrichAndJudge(seed.ip)).verdict, 'malicious');
  });

  test('with one source down the verdict still comes and names the missing source', async () => {
    for (const instance of instances) instance.cache.forgetInstance(instance.name);
    lab.simulators.abuseipdb?.failNext({ kind: 'status', status: 503 }, 5);
    const result = await enrichAndJudge('185.220.101.47');
    assert.equal(result.verdict, 'malicious');
    assert.deepEqual(result.sources.missing, ['abuseipdb']);
    assert.ok(
      result.reasons.some((r) => /abuseipdb: no answer \(integration.unavailable/.test(r)),
      result.reasons.join('\n'),
    );
  });

  test('a second enrichment of the same IP is served from the cache', async () => {
    const sim = lab.simulators.virustotal;
    await enrichAndJudge('45.155.205.233');
    const seen = sim?.requests.length;
    await enrichAndJudge('45.155.205.233');
    assert.equal(sim?.requests.length, seen);
  });
});

describe('ip-enrichment playbook through the durable engine', () => {
  test('six sources in parallel, one down, verdict with reasons as the run output', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadConfig } = await import('../src/core/index.ts');
    const { createEngine } = await import('../src/app/index.ts');
    const { testBackends } = await import('../src/store/testing.ts');
    const t = await (testBackends()[0] as ReturnType<typeof testBackends>[number]).open();
    const dir = mkdtempSync(join(tmpdir(), 'riposte-ipe-'));
    try {
      const config = loadConfig({ env: { RIPOSTE_DATA_DIR: dir, RIPOSTE_PLAYBOOKS_DIR: join(import.meta.dirname, '../playbooks') }, cwd: dir });
      for (const instance of instances) instance.cache.forgetInstance(instance.name);
      lab.simulators.shodan?.failNext({ kind: 'status', status: 401 });
      const { engine, playbooks } = createEngine(t.store, config, { integrations: instances, runner: { pollMs: 5 } });
      const playbook = playbooks.get('ip-enrichment');
      assert.ok(playbook, JSON.stringify(playbooks.find('ip-enrichment.yml')?.issues));
      await engine.start();
      try {
        const id = await engine.startRun(playbook, { ip: '45.155.205.233' });
        const run = await engine.waitForRun(id, 10_000);
        assert.equal(run.status, 'succeeded', JSON.stringify(run));
        const output = run.output as { verdict: string; confidence: number; reasons: string[] };
        assert.equal(output.verdict, 'malicious');
        assert.ok(
          output.reasons.some((r) => r.startsWith('shodan: no answer')),
          output.reasons.join('\n'),
        );
      } finally {
        await engine.stop();
      }
    } finally {
      await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
