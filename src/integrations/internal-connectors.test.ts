import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import { INTERNAL_HANDLERS, SIMULATOR_API_KEY, startSimulator, UNKNOWN_IP, type VendorSimulator } from '../lab/index.ts';
import { integrationById } from './catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from './sdk/index.ts';
import { mapBusinessCriticality, nextLink } from './servicenow_cmdb/index.ts';

/**
 * MISP, Splunk, Elastic and ServiceNow CMDB against their simulators: the same conformance cases as the
 * threat-intel connectors (success, bad credentials, 404, 429 + Retry-After, 5xx retry, timeout,
 * malformed body), then what is particular to each (several MISP servers, job polling, search_after and
 * Link-header paging, criticality mapping).
 */
interface Case {
  id: string;
  sim: string;
  action: string;
  input: Record<string, unknown>;
  secret: string;
  config?: Record<string, unknown>;
  check(out: Record<string, unknown>): void;
}

const CASES: Case[] = [
  {
    id: 'misp',
    sim: 'misp_a',
    action: 'search',
    input: { value: '185.220.101.47' },
    secret: 'apiKey',
    check: (out) => assert.equal((out.evidence as { evaluation: string }).evaluation, 'malicious'),
  },
  {
    id: 'splunk',
    sim: 'splunk',
    action: 'sightings',
    input: { ip: '185.220.101.47' },
    secret: 'token',
    config: { pollIntervalMs: 10 },
    check: (out) => {
      assert.equal(out.count, 17);
      assert.deepEqual(out.hosts, ['srv-web-02', 'ws-finance-07']);
    },
  },
  {
    id: 'elastic',
    sim: 'elastic',
    action: 'sightings',
    input: { ip: '185.220.101.47' },
    secret: 'apiKey',
    check: (out) => {
      assert.equal(out.count, 17);
      assert.deepEqual(out.hosts, ['srv-web-02', 'ws-finance-07']);
    },
  },
  {
    id: 'servicenow_cmdb',
    sim: 'servicenow_cmdb',
    action: 'lookup',
    input: { value: '10.20.1.10' },
    secret: 'password',
    config: { username: 'riposte' },
    check: (out) => {
      assert.equal(out.criticality, 'critical');
      assert.equal(out.owner, 'Finance Applications');
    },
  },
];

const sims = new Map<string, VendorSimulator>();
before(async () => {
  for (const handler of INTERNAL_HANDLERS) sims.set(handler.vendor, await startSimulator(handler));
});
after(async () => {
  for (const sim of sims.values()) await sim.close();
});

function instanceFor(c: Case, options: { key?: string; name?: string; sim?: string; config?: Record<string, unknown> } = {}): IntegrationInstance {
  const integration = integrationById(c.id);
  assert.ok(integration, c.id);
  return createIntegrationInstance(
    integration,
    {
      name: options.name ?? c.sim,
      config: { baseUrl: sims.get(options.sim ?? c.sim)?.url, ...c.config, ...options.config },
      secrets: { [c.secret]: options.key ?? SIMULATOR_API_KEY },
    },
    { guard: { allow: ['127.0.0.1'] }, timeoutMs: 400, retry: { attempts: 3, baseDelayMs: 5, maxRetryAfterMs: 2000 } },
  );
}

const run = (instance: IntegrationInstance, action: string, input: unknown) =>
  instance.run(action, input, { idempotencyKey: 'k' }) as Promise<Record<string, unknown>>;

const failsWith = (code: string, pattern?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof RiposteError, String(error));
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  return true;
};

for (const c of CASES) {
  describe(`${c.id} connector`, () => {
    test('answers from the seeded world', async () => {
      c.check(await run(instanceFor(c), c.action, c.input));
    });

    test('a wrong credential is integration.unauthorized naming the status, without echoing it', async () => {
      await assert.rejects(run(instanceFor(c, { key: 'wrong-key-123' }), c.action, c.input), (error: unknown) => {
        failsWith('integration.unauthorized', /HTTP 40[13]/)(error);
        assert.ok(!(error as Error).message.includes('wrong-key-123'));
        return true;
      });
    });

    test('404 is a clear integration.not_found', async () => {
      sims.get(c.sim)?.failNext({ kind: 'status', status: 404 });
      await assert.rejects(run(instanceFor(c), c.action, c.input), failsWith('integration.not_found', /404/));
    });

    test('429 with Retry-After is waited out and retried', async () => {
      sims.get(c.sim)?.failNext({ kind: 'status', status: 429, retryAfterSeconds: 1 });
      const started = Date.now();
      c.check(await run(instanceFor(c), c.action, c.input));
      assert.ok(Date.now() - started >= 900, 'Retry-After was not honoured');
    });

    test('a Retry-After beyond the limit fails retryable with retry_after_ms', async () => {
      sims.get(c.sim)?.failNext({ kind: 'status', status: 429, retryAfterSeconds: 3600 });
      await assert.rejects(run(instanceFor(c), c.action, c.input), (error: unknown) => {
        failsWith('integration.rate_limited', /429/)(error);
        assert.equal((error as RiposteError).retryable, true);
        assert.equal((error as RiposteError).details?.retry_after_ms, 3_600_000);
        return true;
      });
    });

    test('5xx is retried, and persistent 5xx is integration.unavailable', async () => {
      const sim = sims.get(c.sim) as VendorSimulator;
      sim.failNext({ kind: 'status', status: 503 });
      c.check(await run(instanceFor(c), c.action, c.input));
      sim.failNext({ kind: 'status', status: 500 }, 3);
      await assert.rejects(run(instanceFor(c), c.action, c.input), failsWith('integration.unavailable', /HTTP 500/));
    });

    test('no answer in time is integration.timeout', async () => {
      sims.get(c.sim)?.failNext({ kind: 'hang' });
      await assert.rejects(run(instanceFor(c), c.action, c.input), failsWith('integration.timeout', /within 400 ms/));
    });

    test('a malformed body is integration.bad_response, not a crash', async () => {
      sims.get(c.sim)?.failNext({ kind: 'malformed' });
      await assert.rejects(run(instanceFor(c), c.action, c.input), failsWith('integration.bad_response'));
    });

    test('without a base URL the step fails integration.not_configured', async () => {
      const integration = integrationById(c.id);
      assert.ok(integration);
      const bare = createIntegrationInstance(integration, { name: c.id, config: {}, secrets: { [c.secret]: 'x-secret' } });
      await assert.rejects(run(bare, c.action, c.input), failsWith('integration.not_configured'));
    });
  });
}

describe('MISP', () => {
  const c = CASES[0] as Case;
  const evidence = (out: Record<string, unknown>) => out.evidence as { source: string; evaluation: string; summary: string };

  test('two servers are two instances and two sources', async () => {
    const a = instanceFor(c, { name: 'misp_a', sim: 'misp_a' });
    const b = instanceFor(c, { name: 'misp_b', sim: 'misp_b' });
    const onA = await run(a, 'search', { value: '91.240.118.172' });
    const onB = await run(b, 'search', { value: '91.240.118.172' });
    assert.equal(onA.found, false);
    assert.equal(evidence(onA).evaluation, 'unknown');
    assert.equal(evidence(onB).source, 'misp_b');
    assert.equal(evidence(onB).evaluation, 'suspicious', 'known but not to_ids');
    const both = await Promise.all([run(a, 'search', { value: '185.220.101.47' }), run(b, 'search', { value: '185.220.101.47' })]);
    assert.deepEqual(
      both.map((out) => [evidence(out).source, evidence(out).evaluation]),
      [
        ['misp_a', 'malicious'],
        ['misp_b', 'malicious'],
      ],
    );
    const first = both[0] as Record<string, unknown>;
    const attribute = (first.attributes as Array<Record<string, unknown>>)[0] ?? {};
    assert.equal(attribute.threat_level, 'high');
    assert.equal(attribute.to_ids, true);
    assert.ok((attribute.tags as string[]).includes('tlp:amber'));
    assert.match(evidence(first).summary, /credential stuffing/);
    const observedAt = (first.evidence as { observed_at?: string }).observed_at;
    assert.ok(observedAt && Date.now() - Date.parse(observedAt) >= 3 * 86_400_000, 'evidence carries the newest report time for decay');
  });

  test('a false-positive tag makes the CDN address benign; an unknown IP is unknown', async () => {
    const a = instanceFor(c);
    assert.equal(evidence(await run(a, 'search', { value: '104.16.132.229' })).evaluation, 'benign');
    const unknown = await run(a, 'search', { value: UNKNOWN_IP });
    assert.equal(unknown.found, false);
  });

  test('a % in the value (MISP reads it as a LIKE wildcard) does not match other attributes', async () => {
    const sim = sims.get('misp_a') as VendorSimulator;
    const out = await run(instanceFor(c), 'search', { value: '185.220.%' });
    assert.equal(sim.requests.at(-1)?.path, '/attributes/restSearch');
    assert.equal(out.found, false);
    assert.equal((out.evidence as { evaluation: string }).evaluation, 'unknown');
  });

  test('restSearch is a JSON POST with the key in Authorization and Accept: application/json', async () => {
    const sim = sims.get('misp_a') as VendorSimulator;
    const before = sim.requests.length;
    await run(instanceFor(c), 'search', { value: '45.155.205.233', type: 'ip-dst' });
    const request = sim.requests[before];
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/attributes/restSearch');
    assert.equal(request?.headers.authorization, SIMULATOR_API_KEY);
    assert.equal(request?.headers.accept, 'application/json');
    const body = JSON.parse(request?.body ?? '{}');
    assert.equal(body.returnFormat, 'json');
    assert.equal(body.value, '45.155.205.233');
    assert.equal(body.type, 'ip-dst');
  });

  test('sightings: recorded for a known value, recorded: false for one the server does not hold', async () => {
    const a = instanceFor(c);
    const added = await run(a, 'add_sighting', { value: '185.220.101.47' });
    assert.equal(added.recorded, true);
    assert.ok(typeof added.sighting_id === 'string');
    const sim = sims.get('misp_a') as VendorSimulator;
    const request = sim.requests.at(-1);
    assert.equal(request?.path, '/sightings/add');
    assert.deepEqual(JSON.parse(request?.body ?? '{}'), { value: '185.220.101.47', type: '0', source: 'riposte' });
    assert.equal((await run(a, 'add_sighting', { value: UNKNOWN_IP, type: 'false_positive' })).recorded, false);
    await assert.rejects(run(instanceFor(c, { key: 'wrong-key-123' }), 'add_sighting', { value: '185.220.101.47' }), failsWith('integration.unauthorized'));
  });
});

describe('Splunk', () => {
  const c = CASES[1] as Case;

  test('submits a job, polls until DONE and reads every page of results', async () => {
    const sim = sims.get('splunk') as VendorSimulator;
    const before = sim.requests.length;
    const out = await run(instanceFor(c, { config: { pageSize: 10 } }), 'sightings', { ip: '8.8.8.8' });
    assert.equal(out.count, 250);
    assert.equal((out.hosts as string[]).length, 25);
    assert.equal(out.truncated, false);
    assert.ok(typeof out.first_seen === 'string' && typeof out.last_seen === 'string' && out.first_seen < out.last_seen);
    const seen = sim.requests.slice(before);
    const submit = seen[0];
    assert.equal(submit?.method, 'POST');
    assert.equal(submit?.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(submit?.body);
    assert.equal(form.get('output_mode'), 'json');
    assert.match(form.get('search') ?? '', /src_ip="8\.8\.8\.8".*earliest=-7d/);
    assert.ok(seen.filter((r) => /\/jobs\/[^/]+$/.test(r.path)).length >= 2, 'polled the job status until DONE');
    const pages = seen.filter((r) => r.path.endsWith('/results'));
    assert.deepEqual(
      pages.map((r) => r.query.get('offset')),
      ['0', '10', '20'],
    );
    assert.equal(submit?.headers.authorization, `Bearer ${SIMULATOR_API_KEY}`);
  });

  test('Basic auth when a username is configured', async () => {
    const sim = sims.get('splunk') as VendorSimulator;
    await run(instanceFor(c, { config: { username: 'admin' } }), 'sightings', { ip: '45.155.205.233' });
    assert.equal(sim.requests.at(-1)?.headers.authorization, `Basic ${Buffer.from(`admin:${SIMULATOR_API_KEY}`).toString('base64')}`);
  });

  test('a FAILED job is integration.job_failed with Splunk’s message', async () => {
    await assert.rejects(
      run(instanceFor(c, { config: { search: 'search index=* {ip} | badcommand' } }), 'sightings', { ip: '8.8.8.8' }),
      failsWith('integration.job_failed', /Unknown search command 'badcommand'/),
    );
  });

  test('a job cancelled while running fails instead of being polled until the deadline', async () => {
    await assert.rejects(
      run(instanceFor(c, { config: { search: 'search index=* {ip} | cancelled_by_admin' } }), 'sightings', { ip: '8.8.8.8' }),
      failsWith('integration.job_failed', /cancelled \(dispatchState USER_CANCEL\)/),
    );
  });

  test('an IP nobody contacted is found: false with count 0', async () => {
    const out = await run(instanceFor(c), 'sightings', { ip: UNKNOWN_IP });
    assert.equal(out.found, false);
    assert.equal(out.count, 0);
    assert.equal(out.first_seen, null);
  });
});

describe('Elastic', () => {
  const c = CASES[2] as Case;

  test('pages with search_after over the time-sorted events', async () => {
    const sim = sims.get('elastic') as VendorSimulator;
    const before = sim.requests.length;
    const out = await run(instanceFor(c, { config: { pageSize: 100 } }), 'sightings', { ip: '8.8.8.8' });
    assert.equal(out.count, 250);
    assert.equal((out.hosts as string[]).length, 25);
    const bodies = sim.requests.slice(before).map((r) => JSON.parse(r.body));
    assert.equal(bodies.length, 3);
    assert.equal(bodies[0].search_after, undefined);
    assert.ok(Array.isArray(bodies[1].search_after) && Array.isArray(bodies[2].search_after));
    assert.deepEqual(bodies[0].sort, [{ '@timestamp': 'asc' }, { 'event.id': 'asc' }]);
    assert.match(JSON.stringify(bodies[0].query), /"source.ip":"8.8.8.8".*"destination.ip":"8.8.8.8"/);
    assert.equal(sim.requests.at(-1)?.path, '/logs-*/_search');
  });

  test('maxEvents caps the reading; the total still counts and truncated says so', async () => {
    const out = await run(instanceFor(c, { config: { pageSize: 50, maxEvents: 120 } }), 'sightings', { ip: '8.8.8.8' });
    assert.equal(out.count, 250);
    assert.equal(out.truncated, true);
  });

  test('a missing index is integration.not_found naming it', async () => {
    await assert.rejects(
      run(instanceFor(c, { config: { index: 'winlogbeat-*' } }), 'sightings', { ip: '8.8.8.8' }),
      failsWith('integration.not_found', /winlogbeat/),
    );
  });
});

describe('ServiceNow CMDB', () => {
  const c = CASES[3] as Case;

  test('follows the Link header across pages; the most critical CI behind a shared address answers', async () => {
    const sim = sims.get('servicenow_cmdb') as VendorSimulator;
    const before = sim.requests.length;
    const out = await run(instanceFor(c, { config: { pageSize: 2 } }), 'lookup', { value: '10.20.1.100' });
    assert.equal((out.matches as unknown[]).length, 3);
    assert.equal((out.asset as { name: string }).name, 'srv-portal-b');
    assert.equal(out.criticality, 'high');
    const requests = sim.requests.slice(before);
    assert.deepEqual(
      requests.map((r) => r.query.get('sysparm_offset')),
      ['0', '2'],
    );
    assert.equal(requests[0]?.query.get('sysparm_query'), 'ip_address=10.20.1.100');
    assert.equal(requests[0]?.headers.authorization, `Basic ${Buffer.from(`riposte:${SIMULATOR_API_KEY}`).toString('base64')}`);
  });

  test('host names, other tables, environment, and the same shape as the asset-file cmdb', async () => {
    const out = await run(instanceFor(c, { config: { table: 'cmdb_ci' } }), 'lookup', { value: 'WS-ENG-23' });
    assert.deepEqual(out.asset, {
      name: 'ws-eng-23',
      ip: '10.20.5.23',
      hostname: 'ws-eng-23',
      owner: 'Bob Chen',
      criticality: 'low',
      environment: 'Development',
    });
    const missing = await run(instanceFor(c), 'lookup', { value: '10.99.0.1' });
    assert.deepEqual({ ...missing, matches: undefined }, { value: '10.99.0.1', found: false, asset: null, criticality: null, owner: null, matches: undefined });
    for (const key of ['value', 'found', 'asset', 'criticality', 'owner']) assert.ok(key in out, key);
  });

  test('values that would inject into the encoded query are refused', async () => {
    await assert.rejects(run(instanceFor(c), 'lookup', { value: 'x^ORname!=y' }), failsWith('input.invalid', /IP address or a host name/));
  });

  test('business criticality mapping and Link parsing', () => {
    assert.equal(mapBusinessCriticality('1 - most critical'), 'critical');
    assert.equal(mapBusinessCriticality('2 - somewhat critical'), 'high');
    assert.equal(mapBusinessCriticality('3'), 'medium');
    assert.equal(mapBusinessCriticality('4 - not critical'), 'low');
    assert.equal(mapBusinessCriticality(''), 'medium');
    assert.equal(
      nextLink(
        '<https://x.service-now.com/api/now/table/t?sysparm_offset=0>;rel="first",<https://x.service-now.com/api/now/table/t?sysparm_offset=2>;rel="next"',
      ),
      'https://x.service-now.com/api/now/table/t?sysparm_offset=2',
    );
    assert.equal(nextLink('<https://x/a>;rel="last"'), undefined);
  });
});
