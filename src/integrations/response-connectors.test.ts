import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import {
  type JiraSimulatorHandler,
  jiraHandler,
  PAN_OS_USER,
  type PanOsSimulatorHandler,
  panOsHandler,
  type ServiceNowSimulatorHandler,
  SIMULATOR_API_KEY,
  serviceNowIncidentHandler,
  startSimulator,
  type VendorSimulator,
} from '../lab/index.ts';
import { integrationById } from './catalog.ts';
import { adfFromText, textFromAdf } from './jira/index.ts';
import { parseXml } from './palo_alto/pan-xml.ts';
import { createIntegrationInstance, type IntegrationInstance } from './sdk/index.ts';

/**
 * The response-side connectors (Jira, ServiceNow incidents, PAN-OS) against their simulators: success,
 * bad credentials, 404, 429 with Retry-After, 5xx with retry, timeout and a malformed body — each a
 * result or a clear RiposteError.
 */
const jira = jiraHandler();
const snow = serviceNowIncidentHandler();
const pan = panOsHandler();
const sims = new Map<string, VendorSimulator>();
let instanceCounter = 0;

before(async () => {
  for (const handler of [jira, snow, pan]) sims.set(handler.vendor, await startSimulator(handler));
});
after(async () => {
  for (const sim of sims.values()) await sim.close();
});

interface Case {
  id: string;
  config: Record<string, unknown>;
  secret: string;
  /** A call that succeeds against the simulator. */
  ok(instance: IntegrationInstance): Promise<Record<string, unknown>>;
  /** A call whose target does not exist, when the API has one (else undefined). */
  missing?(instance: IntegrationInstance): Promise<unknown>;
}

const run = (instance: IntegrationInstance, action: string, input: unknown) =>
  instance.run(action, input, { idempotencyKey: `k-${++instanceCounter}` }) as Promise<Record<string, unknown>>;

const CASES: Case[] = [
  {
    id: 'jira',
    config: { email: 'soc@example.com' },
    secret: 'apiToken',
    ok: (i) => run(i, 'create_ticket', { summary: 'Blocked 185.220.101.47', description: 'Malicious (confidence 93).\n\nBlocked for 24h.' }),
    missing: (i) => run(i, 'get_ticket', { key: 'SEC-9999' }),
  },
  {
    id: 'servicenow_incident',
    config: { username: 'riposte.integration' },
    secret: 'password',
    ok: (i) => run(i, 'create_incident', { short_description: 'Blocked 185.220.101.47', urgency: 1 }),
    missing: (i) => run(i, 'update_incident', { sys_id: 'f'.repeat(32), work_notes: 'x' }),
  },
  {
    id: 'palo_alto',
    config: { username: PAN_OS_USER, pollIntervalMs: 5 },
    secret: 'password',
    ok: (i) => run(i, 'block_ip', { ip: '185.220.101.47', ttl: '24h' }),
  },
];

function instanceFor(c: Case, secret = SIMULATOR_API_KEY, name = `${c.id}_${++instanceCounter}`): IntegrationInstance {
  const integration = integrationById(c.id);
  assert.ok(integration, c.id);
  return createIntegrationInstance(
    integration,
    { name, config: { baseUrl: sims.get(c.id)?.url, ...c.config }, secrets: { [c.secret]: secret } },
    { guard: { allow: ['127.0.0.1'] }, timeoutMs: 400, retry: { attempts: 3, baseDelayMs: 5, maxRetryAfterMs: 2000 } },
  );
}

const failsWith = (code: string, pattern?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof RiposteError, String(error));
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  return true;
};

for (const c of CASES) {
  describe(`${c.id} connector`, () => {
    test('succeeds against the simulator', async () => {
      const out = await c.ok(instanceFor(c));
      assert.ok(Object.keys(out).length > 0);
    });

    test('wrong credentials are integration.unauthorized, and the secret is not echoed', async () => {
      await assert.rejects(c.ok(instanceFor(c, 'wrong-secret-123')), (error: unknown) => {
        failsWith('integration.unauthorized')(error);
        assert.ok(!(error as Error).message.includes('wrong-secret-123'));
        return true;
      });
    });

    test('403 is integration.unauthorized', async () => {
      const instance = instanceFor(c);
      sims.get(c.id)?.failNext({ kind: 'status', status: 403 });
      await assert.rejects(c.ok(instance), failsWith('integration.unauthorized', /403/));
    });

    test('404 is integration.not_found', async () => {
      if (c.missing) await assert.rejects(c.missing(instanceFor(c)), failsWith('integration.not_found', /404/));
      else {
        sims.get(c.id)?.failNext({ kind: 'status', status: 404 });
        await assert.rejects(c.ok(instanceFor(c)), failsWith('integration.not_found', /404/));
      }
    });

    test('429 with Retry-After is waited out and retried', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      sim.failNext({ kind: 'status', status: 429, retryAfterSeconds: 1 });
      const started = Date.now();
      await c.ok(instanceFor(c));
      assert.ok(Date.now() - started >= 900, 'Retry-After was not honoured');
      sim.failNext({ kind: 'status', status: 429, retryAfterSeconds: 3600 });
      await assert.rejects(c.ok(instanceFor(c)), failsWith('integration.rate_limited', /429/));
    });

    test('5xx is retried, persistent 5xx is integration.unavailable', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      sim.failNext({ kind: 'status', status: 503 });
      await c.ok(instanceFor(c));
      sim.failNext({ kind: 'status', status: 500 }, 3);
      await assert.rejects(c.ok(instanceFor(c)), failsWith('integration.unavailable', /HTTP 500/));
    });

    test('no answer in time is integration.timeout', async () => {
      sims.get(c.id)?.failNext({ kind: 'hang' });
      await assert.rejects(c.ok(instanceFor(c)), failsWith('integration.timeout', /within 400 ms/));
    });

    test('a malformed body is integration.bad_response', async () => {
      sims.get(c.id)?.failNext({ kind: 'malformed' });
      await assert.rejects(c.ok(instanceFor(c)), failsWith('integration.bad_response'));
    });
  });
}

describe('jira specifics', () => {
  const c = CASES[0] as Case;
  test('the description is sent as ADF, read back as text, and comments land on the issue', async () => {
    const instance = instanceFor(c);
    const created = await c.ok(instance);
    assert.match(String(created.key), /^SEC-\d+$/);
    assert.match(String(created.url), /\/browse\/SEC-\d+$/);
    const stored = (jira as JiraSimulatorHandler).issues.get(String(created.key));
    assert.ok(stored);
    assert.equal((stored.fields.description as { type: string }).type, 'doc');
    const read = await run(instance, 'get_ticket', { key: created.key });
    assert.equal(read.description, 'Malicious (confidence 93).\nBlocked for 24h.');
    assert.equal(read.status, 'To Do');
    await run(instance, 'comment', { key: created.key, body: 'Unblocked after review' });
    assert.equal(stored?.comments.length, 1);
  });

  test('a create Jira rejects names the fields it objected to; a missing e-mail is a clear configuration error', async () => {
    const instance = instanceFor(c);
    (sims.get('jira') as VendorSimulator).failNext({
      kind: 'status',
      status: 400,
      body: { errorMessages: [], errors: { project: 'Specify a valid project ID or key' } },
    });
    await assert.rejects(run(instance, 'create_ticket', { summary: 'x' }), failsWith('integration.rejected', /project: Specify a valid project/));
    const integration = integrationById('jira');
    assert.ok(integration);
    const noEmail = createIntegrationInstance(
      integration,
      { name: 'jira_noemail', config: { baseUrl: sims.get('jira')?.url }, secrets: { apiToken: 'x' } },
      { guard: { allow: ['127.0.0.1'] } },
    );
    await assert.rejects(run(noEmail, 'create_ticket', { summary: 'x' }), failsWith('integration.not_configured', /e-mail/));
  });

  test('ADF round trip', () => {
    assert.equal(textFromAdf(adfFromText('a\nb\n\nc')).trim(), 'a\nb\nc');
  });
});

describe('servicenow specifics', () => {
  const c = CASES[1] as Case;
  test('creates an incident with a correlation id, then adds a work note and resolves it', async () => {
    const instance = instanceFor(c);
    const created = await c.ok(instance);
    assert.match(String(created.number), /^INC\d{7}$/);
    const record = (snow as ServiceNowSimulatorHandler).incidents.get(String(created.sys_id));
    assert.equal(record?.urgency, '1');
    assert.ok(String(record?.correlation_id).startsWith('k-'));
    const updated = await run(instance, 'update_incident', {
      sys_id: created.sys_id,
      work_notes: 'Blocked at the EDL',
      state: 6,
      close_code: 'Solved (Permanently)',
    });
    assert.equal(updated.state, '6');
    assert.deepEqual(record?.work_notes_log, ['Blocked at the EDL']);
    await assert.rejects(run(instance, 'update_incident', { sys_id: created.sys_id }), failsWith('input.invalid', /at least one field/));
  });
});

describe('palo_alto specifics', () => {
  const c = CASES[2] as Case;
  test('block commits a tagged address object the dynamic group matches; unblock removes it; both wait for the commit job', async () => {
    const instance = instanceFor(c);
    const handler = pan as PanOsSimulatorHandler;
    handler.pollsPerJob = 2;
    const blocked = await run(instance, 'block_ip', { ip: '45.155.205.233', ttl: '1h', reason: 'C2 <beacon> & more' });
    assert.equal(blocked.address, 'riposte-45.155.205.233');
    assert.ok(blocked.job_id);
    assert.ok(handler.blocked().includes('45.155.205.233'));
    assert.match(handler.running.get('riposte-45.155.205.233')?.description ?? '', /C2 &lt;beacon&gt; &amp; more/);
    const unblocked = await run(instance, 'unblock_ip', { ip: '45.155.205.233' });
    assert.equal(unblocked.removed, true);
    assert.ok(!handler.blocked().includes('45.155.205.233'));
    const again = await run(instance, 'unblock_ip', { ip: '45.155.205.233' });
    assert.equal(again.removed, false);
    assert.equal(again.job_id, null);
    handler.pollsPerJob = 1;
  });

  test('a key the firewall stops accepting is regenerated once through keygen', async () => {
    const instance = instanceFor(c);
    await run(instance, 'block_ip', { ip: '91.240.118.172' });
    const sim = sims.get('palo_alto') as VendorSimulator;
    const before = sim.requests.length;
    sim.failNext({ kind: 'status', status: 403 });
    await run(instance, 'block_ip', { ip: '91.240.118.172' });
    const types = sim.requests.slice(before).map((r) => new URLSearchParams(r.body).get('type'));
    assert.deepEqual(types.slice(0, 3), ['config', 'keygen', 'config']);
    assert.ok(!sim.requests.slice(before).some((r) => r.path.includes('password') || r.query.has('password')), 'the password never travels in the URL');
  });

  test('a failed commit job is a clear error naming the firewall reason', async () => {
    (pan as PanOsSimulatorHandler).failNextCommit('Validation Error: address -> riposte-1.2.3.4 is invalid');
    await assert.rejects(run(instanceFor(c), 'block_ip', { ip: '1.2.3.4' }), failsWith('integration.rejected', /commit failed.*Validation Error/));
  });

  test('IPv6 and ranges become valid object names; absurd ranges are refused', async () => {
    const out = await run(instanceFor(c), 'block_ip', { ip: '2001:db8::/48' });
    assert.equal(out.address, 'riposte-2001_db8___48');
    await assert.rejects(run(instanceFor(c), 'block_ip', { ip: '10.0.0.0/8' }), failsWith('input.invalid', /too wide/));
  });

  test('the XML reader refuses DOCTYPE and undeclared entities (no expansion)', () => {
    assert.throws(() => parseXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><response>&a;</response>'), /DOCTYPE/);
    assert.throws(() => parseXml('<response>&xxe;</response>'), /undeclared entity/);
    assert.equal(parseXml('<response status="success"><msg>a &amp; &#x3c;b&#62;</msg></response>').children[0]?.text, 'a & <b>');
    assert.throws(() => parseXml('<response><a></b></response>'), /closes/);
  });
});
