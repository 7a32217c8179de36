import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { integrationActions, verdictAction } from '../src/app/integration-actions.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { createIntegrationInstance } from '../src/integrations/sdk/index.ts';
import { KnownGoodLists } from '../src/intel/index.ts';
import { type Lab, SIMULATOR_API_KEY, startLab } from '../src/lab/index.ts';

/**
 * The inside half of the suspicious-IP scenario over the lab: two MISP servers as two sources (their
 * three-day-old reports decayed in the verdict), internal sightings from Splunk and Elastic that agree,
 * and the ServiceNow CMDB telling how critical the hosts that talked to the IP are.
 */
let lab: Lab;
let actions: Map<string, ReturnType<typeof integrationActions>[number]>;
const verdict = verdictAction(() => KnownGoodLists.load({ only: [] }));
const context = (step: string) => ({
  idempotencyKey: `run-1:${step}`,
  runId: 'run-1',
  stepKey: step,
  attempt: 1,
  signal: new AbortController().signal,
  logger: undefined,
});

before(async () => {
  lab = await startLab();
  const make = (name: string, product: string, extra: Record<string, unknown> = {}) => {
    const integration = integrationById(product);
    assert.ok(integration);
    return createIntegrationInstance(
      integration,
      {
        name,
        config: { baseUrl: lab.simulators[name]?.url, ...extra },
        secrets: Object.fromEntries(Object.keys(integration.secrets).map((secret) => [secret, SIMULATOR_API_KEY])),
      },
      { guard: { allow: ['127.0.0.1'] }, timeoutMs: 2000, retry: { attempts: 2, baseDelayMs: 5 } },
    );
  };
  const instances = [
    make('misp_a', 'misp'),
    make('misp_b', 'misp'),
    make('splunk', 'splunk', { pollIntervalMs: 10 }),
    make('elastic', 'elastic'),
    make('servicenow_cmdb', 'servicenow_cmdb', { username: 'riposte', table: 'cmdb_ci' }),
  ];
  actions = new Map(integrationActions(instances).map((a) => [a.id, a]));
});
after(() => lab.close());

const run = async (id: string, input: unknown) => (await actions.get(id)?.run(input, context(id))) as Record<string, unknown>;

describe('internal enrichment of a malicious IP', () => {
  test('both MISP servers count in the verdict, their three-day-old reports decayed', async () => {
    const ip = '185.220.101.47';
    const [a, b] = await Promise.all([run('misp_a.search', { value: ip }), run('misp_b.search', { value: ip })]);
    const result = (await verdict.run({ observable: ip, evidence: { misp_a: a, misp_b: b } }, context('verdict'))) as {
      verdict: string;
      sources: { answered: string[] };
      reasons: string[];
    };
    assert.deepEqual(result.sources.answered, ['misp_a', 'misp_b']);
    assert.equal(result.verdict, 'suspicious', 'two decayed MISP reports (weight ×0.68) are 0.95 malicious weight: below the 1.0 malicious threshold');
    assert.ok(
      result.reasons.some((r) => /^misp_a .*\[last seen 3 days ago: weight ×0\.68\]$/.test(r)),
      result.reasons.join('\n'),
    );
  });

  test('Splunk and Elastic agree on the sightings, and the CMDB rates the hosts that made them', async () => {
    const ip = '185.220.101.47';
    const [splunk, elastic] = await Promise.all([run('splunk.sightings', { ip }), run('elastic.sightings', { ip })]);
    for (const key of ['count', 'hosts', 'first_seen', 'last_seen']) assert.deepEqual(splunk[key], elastic[key], key);
    const owners = await Promise.all((splunk.hosts as string[]).map((host) => run('servicenow_cmdb.lookup', { value: host })));
    assert.deepEqual(
      owners.map((o) => [o.value, o.criticality, o.owner]),
      [
        ['srv-web-02', 'high', 'Web Platform'],
        ['ws-finance-07', 'medium', 'Alice Martin'],
      ],
    );
  });
});
