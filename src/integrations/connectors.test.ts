import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import { SIMULATOR_API_KEY, startSimulator, THREAT_INTEL_HANDLERS, UNKNOWN_IP, type VendorSimulator } from '../lab/index.ts';
import { integrationById } from './catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from './sdk/index.ts';

/**
 * Every threat-intel connector against its simulator: success, bad credentials, 404, 429 with
 * Retry-After, 5xx with retry, timeout and a malformed body — each a result or a clear RiposteError.
 */
interface Case {
  id: string;
  action: string;
  malicious: string;
  /** Evaluation the connector must give the seeded malicious IP. */
  expect: string;
  secret: string;
}

const CASES: Case[] = [
  { id: 'virustotal', action: 'ip_report', malicious: '185.220.101.47', expect: 'malicious', secret: 'apiKey' },
  { id: 'abuseipdb', action: 'check', malicious: '185.220.101.47', expect: 'malicious', secret: 'apiKey' },
  { id: 'greynoise', action: 'community', malicious: '185.220.101.47', expect: 'malicious', secret: 'apiKey' },
  { id: 'otx', action: 'ip_general', malicious: '185.220.101.47', expect: 'malicious', secret: 'apiKey' },
  { id: 'shodan', action: 'host', malicious: '185.220.101.47', expect: 'suspicious', secret: 'apiKey' },
  { id: 'ipinfo', action: 'ip_details', malicious: '185.220.101.47', expect: 'suspicious', secret: 'token' },
];

const sims = new Map<string, VendorSimulator>();
before(async () => {
  for (const handler of THREAT_INTEL_HANDLERS) sims.set(handler.vendor, await startSimulator(handler));
});
after(async () => {
  for (const sim of sims.values()) await sim.close();
});

function instanceFor(c: Case, key = SIMULATOR_API_KEY): IntegrationInstance {
  const integration = integrationById(c.id);
  assert.ok(integration);
  return createIntegrationInstance(
    integration,
    { name: c.id, config: { baseUrl: sims.get(c.id)?.url }, secrets: { [c.secret]: key } },
    { guard: { allow: ['127.0.0.1'] }, timeoutMs: 400, retry: { attempts: 3, baseDelayMs: 5, maxRetryAfterMs: 2000 } },
  );
}

const call = (instance: IntegrationInstance, c: Case, ip: string) =>
  instance.run(c.action, { ip }, { idempotencyKey: 'k' }) as Promise<Record<string, unknown>>;

const failsWith = (code: string, pattern?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof RiposteError, String(error));
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  return true;
};

for (const c of CASES) {
  describe(`${c.id} connector`, () => {
    test('evaluates the seeded malicious IP and explains why', async () => {
      const out = await call(instanceFor(c), c, c.malicious);
      const evidence = out.evidence as { source: string; evaluation: string; summary: string };
      assert.equal(evidence.source, c.id);
      assert.equal(evidence.evaluation, c.expect);
      assert.ok(evidence.summary.length > 0);
    });

    test('sends the credentials where the vendor expects them', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      const before = sim.requests.length;
      await call(instanceFor(c), c, '8.8.8.8');
      const request = sim.requests[before];
      assert.ok(request);
      const where = JSON.stringify({ headers: request.headers, query: Object.fromEntries(request.query) });
      assert.ok(where.includes(SIMULATOR_API_KEY));
    });

    test('sequential calls from one instance reuse one kept-alive connection', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      const instance = instanceFor(c);
      const before = sim.requests.length;
      for (const ip of ['8.8.8.8', '91.240.118.172', '104.16.132.229']) await call(instance, c, ip);
      const seen = sim.requests.slice(before).map((r) => r.connection);
      assert.equal(seen.length, 3);
      assert.equal(new Set(seen).size, 1, `connections used: ${seen.join(', ')}`);
    });

    test('a wrong key is integration.unauthorized naming the vendor and status, and the key is not echoed', async () => {
      await assert.rejects(call(instanceFor(c, 'wrong-key-123'), c, c.malicious), (error: unknown) => {
        failsWith('integration.unauthorized', /HTTP 40[13]/)(error);
        assert.ok(!(error as Error).message.includes('wrong-key-123'));
        return true;
      });
    });

    test('404 is "not found" on the result or a clear integration.not_found', async () => {
      sims.get(c.id)?.failNext({ kind: 'status', status: 404 });
      try {
        const out = await call(instanceFor(c), c, UNKNOWN_IP);
        assert.equal(out.found, false);
        assert.equal((out.evidence as { evaluation: string }).evaluation, 'unknown');
      } catch (error) {
        failsWith('integration.not_found', /404/)(error);
      }
    });

    test('429 with Retry-After is waited out and retried', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      sim.failNext({ kind: 'status', status: 429, retryAfterSeconds: 1 });
      const before = sim.requests.length;
      const started = Date.now();
      const out = await call(instanceFor(c), c, c.malicious);
      assert.equal((out.evidence as { evaluation: string }).evaluation, c.expect);
      assert.equal(sim.requests.length - before, 2);
      assert.ok(Date.now() - started >= 900, 'Retry-After was not honoured');
    });

    test('a Retry-After beyond the limit fails retryable with retry_after_ms for the engine', async () => {
      sims.get(c.id)?.failNext({ kind: 'status', status: 429, retryAfterSeconds: 3600 });
      await assert.rejects(call(instanceFor(c), c, c.malicious), (error: unknown) => {
        failsWith('integration.rate_limited', /429/)(error);
        assert.equal((error as RiposteError).retryable, true);
        assert.equal((error as RiposteError).details?.retry_after_ms, 3_600_000);
        return true;
      });
    });

    test('5xx is retried with backoff, and persistent 5xx is integration.unavailable', async () => {
      const sim = sims.get(c.id) as VendorSimulator;
      sim.failNext({ kind: 'status', status: 503 });
      assert.equal(((await call(instanceFor(c), c, c.malicious)).evidence as { evaluation: string }).evaluation, c.expect);
      sim.failNext({ kind: 'status', status: 500 }, 3);
      await assert.rejects(call(instanceFor(c), c, c.malicious), failsWith('integration.unavailable', /HTTP 500/));
    });

    test('no answer in time is integration.timeout', async () => {
      sims.get(c.id)?.failNext({ kind: 'hang' });
      await assert.rejects(call(instanceFor(c), c, c.malicious), failsWith('integration.timeout', /within 400 ms/));
    });

    test('a malformed body is integration.bad_response, not a crash', async () => {
      sims.get(c.id)?.failNext({ kind: 'malformed' });
      await assert.rejects(call(instanceFor(c), c, c.malicious), failsWith('integration.bad_response'));
    });

    test('bad input names the field', async () => {
      await assert.rejects(call(instanceFor(c), c, 'not-an-ip'), failsWith('input.invalid', /ip/));
    });
  });
}

describe('virustotal other observables', () => {
  const vt = CASES[0] as Case;
  test('domain, url and file reports', async () => {
    const instance = instanceFor(vt);
    const domain = (await instance.run('domain_report', { domain: 'login-micros0ft-support.com' }, { idempotencyKey: 'k' })) as {
      evidence: { evaluation: string };
    };
    assert.equal(domain.evidence.evaluation, 'malicious');
    const url = (await instance.run('url_report', { url: 'http://login-micros0ft-support.com/office365/auth.php' }, { idempotencyKey: 'k' })) as {
      evidence: { evaluation: string };
    };
    assert.equal(url.evidence.evaluation, 'malicious');
    const file = (await instance.run('file_report', { hash: '44D88612FEA8A8F36DE82E1278ABB02F' }, { idempotencyKey: 'k' })) as {
      found: boolean;
      evidence: { evaluation: string };
    };
    assert.equal(file.evidence.evaluation, 'malicious');
    const unknown = (await instance.run('domain_report', { domain: 'never-seen.example' }, { idempotencyKey: 'k' })) as { found: boolean };
    assert.equal(unknown.found, false);
  });
});
