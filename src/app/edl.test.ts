import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger, ManualClock, RiposteError } from '../core/index.ts';
import { openTestServer, type TestServer } from '../server/testing.ts';
import { testBackends } from '../store/testing.ts';
import { caseActions } from './case-actions.ts';
import { buildCasesService } from './cases.ts';
import { EdlService, edlActions, edlValue, type ResponseDeps } from './edl.ts';

/**
 * The EDL Riposte serves: block/unblock actions with expiry and provenance on the case, the plain-text
 * list firewalls poll (Basic with the token as password, or Bearer; `edl:read`), and the cases actions.
 */
const context = (runId: string, step = 'block') => ({
  idempotencyKey: `${runId}:${step}`,
  runId,
  stepKey: step,
  attempt: 1,
  signal: new AbortController().signal,
  logger: undefined,
});

describe('edlValue', () => {
  test('canonical addresses and ranges; wide ranges and junk are refused naming the problem', () => {
    assert.equal(edlValue(' 185.220.101.47 '), '185.220.101.47');
    assert.equal(edlValue('2001:DB8::1'), '2001:db8::1');
    assert.equal(edlValue('203.0.113.9/24'), '203.0.113.0/24');
    assert.throws(() => edlValue('0.0.0.0/0'), /wider than \/16/);
    assert.throws(() => edlValue('not-an-ip'), /not an IP address or CIDR/);
  });
});

for (const backend of testBackends()) {
  describe(`EDL and cases actions (${backend.backend})`, () => {
    let server: TestServer;
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 4, 0));
    let deps: ResponseDeps;
    let actions: Map<string, ReturnType<typeof edlActions>[number]>;
    let caseId: string;

    before(async () => {
      server = await openTestServer(backend, {
        clock,
        services: (store, config) => {
          const cases = buildCasesService(store, config, createLogger({ level: 'silent' }), clock);
          deps = { store, cases, clock };
          return { edl: new EdlService({ store, cases, clock }) };
        },
      });
      actions = new Map([...edlActions(() => deps), ...caseActions(() => deps)].map((a) => [a.id, a]));
      const made = await deps.cases.createCase({ title: 'Suspicious IP 185.220.101.47', severity: 'medium' });
      caseId = made.id;
      await deps.cases.linkRun(caseId, 'run-1');
    });
    after(() => server.dispose());

    const run = (id: string, input: unknown, runId = 'run-1') => {
      const action = actions.get(id);
      assert.ok(action, id);
      return action.run(action.input.parse(input), context(runId)) as Promise<Record<string, unknown>>;
    };

    test('block_ip declares destructive with its inverse, and refuses a missing or absurd ttl', () => {
      const block = actions.get('edl.block_ip');
      assert.equal(block?.impact, 'destructive');
      assert.equal(block?.inverse, 'edl.unblock_ip');
      assert.equal(block?.input.safeParse({ ip: '1.2.3.4', ttl: 'forever' }).success, false);
      assert.equal(block?.input.safeParse({ ip: '1.2.3.4', ttl: '400d' }).success, false);
      assert.equal(block?.input.safeParse({ ip: '1.2.3.4', ttl: '24h', confidence: 93, verdict: 'malicious' }).success, true);
    });

    test('a block is served to firewalls until it expires, and recorded on the run case', async () => {
      const out = await run('edl.block_ip', { ip: '185.220.101.47', ttl: '1h', reason: 'malicious, confidence 93' });
      assert.equal(out.created, true);
      assert.equal(out.case_id, caseId);
      assert.equal(out.expires_at, new Date(clock.now() + 3_600_000).toISOString());
      await server.auth.createUser({ name: 'paloalto', roles: ['viewer'] });
      const { token } = await server.auth.createToken({ userName: 'paloalto', scopes: ['edl:read'] });
      const viewer = { authorization: `Bearer ${token}` };
      const basic = `Basic ${Buffer.from(`paloalto:${token}`).toString('base64')}`;
      const someoneElse = `Basic ${Buffer.from(`not-the-owner:${token}`).toString('base64')}`;
      assert.equal(
        (await server.app.inject({ url: '/edl/riposte-block', headers: { authorization: someoneElse } })).statusCode,
        401,
        'the user name must own the token',
      );
      const served = await server.app.inject({ url: '/edl/riposte-block', headers: { authorization: basic } });
      assert.equal(served.statusCode, 200, served.body);
      assert.match(String(served.headers['content-type']), /^text\/plain/);
      assert.equal(served.body, '185.220.101.47\n');
      const bearer = await server.app.inject({ url: '/edl/riposte-block', headers: viewer });
      assert.equal(bearer.body, '185.220.101.47\n');
      clock.advance(3_600_001);
      const later = await server.app.inject({ url: '/edl/riposte-block', headers: viewer });
      assert.equal(later.body, '');
      const timeline = await deps.cases.timeline(caseId);
      assert.ok(timeline.items.some((e) => e.kind === 'edl.added' && e.summary.includes('185.220.101.47')));
    });

    test('the EDL refuses callers without a token, with a wrong one, or without edl:read', async () => {
      const none = await server.app.inject({ url: '/edl/riposte-block' });
      assert.equal(none.statusCode, 401);
      assert.match(String(none.headers['www-authenticate']), /Basic realm/);
      const wrong = await server.app.inject({
        url: '/edl/riposte-block',
        headers: { authorization: `Basic ${Buffer.from('fw:rpt_wrong').toString('base64')}` },
      });
      assert.equal(wrong.statusCode, 401);
      const scoped = await server.as('viewer', ['cases:read']);
      assert.equal((await server.app.inject({ url: '/edl/riposte-block', headers: scoped })).statusCode, 403);
      const bad = await server.app.inject({ url: '/edl/NOT%20A%20LIST', headers: await server.as('viewer') });
      assert.equal(bad.statusCode, 400);
    });

    test('unblock removes the entry once; blocking again refreshes the expiry', async () => {
      await run('edl.block_ip', { ip: '45.155.205.233', ttl: '24h' });
      const again = await run('edl.block_ip', { ip: '45.155.205.233', ttl: '48h' });
      assert.equal(again.created, false);
      assert.equal(again.expires_at, new Date(clock.now() + 48 * 3_600_000).toISOString());
      // A rollback may call the inverse with the block's own arguments.
      assert.equal((await run('edl.unblock_ip', { ip: '45.155.205.233', ttl: '48h', confidence: 93, verdict: 'malicious' })).removed, true);
      assert.equal((await run('edl.unblock_ip', { ip: '45.155.205.233' })).removed, false);
    });

    test('cases.record_enrichment keeps every source, the verdict and reasons on the observable and the timeline', async () => {
      const evidence = {
        virustotal: { evidence: { source: 'virustotal', evaluation: 'malicious', reliability: 8, summary: '14/94 engines', details: { malicious: 14 } } },
        abuseipdb: { error: { code: 'integration.unavailable', message: 'AbuseIPDB is failing (HTTP 503)' } },
      };
      const verdict = {
        verdict: 'malicious',
        confidence: 88,
        reasons: ['virustotal: malicious (14/94 engines)', 'abuseipdb: no answer (integration.unavailable)'],
        sources: { answered: ['virustotal'], missing: ['abuseipdb'] },
      };
      const out = await run('cases.record_enrichment', { observable: '185.220.101.47', verdict, evidence, context: { asset: null } });
      assert.equal(out.recorded, true);
      const observable = await deps.cases.findObservable('ipv4', '185.220.101.47');
      assert.equal(observable.verdict, 'malicious');
      assert.equal(observable.confidence, 88);
      const sources = observable.enrichment.sources as Record<string, { evaluation: string; error?: string }>;
      assert.equal(sources.virustotal?.evaluation, 'malicious');
      assert.match(sources.abuseipdb?.error ?? '', /integration.unavailable/);
      assert.deepEqual(observable.enrichment.missing, ['abuseipdb']);
      assert.ok(observable.cases.some((c) => c.case_id === caseId));
      const entry = (await deps.cases.timeline(caseId)).items.find((e) => e.kind === 'observable.enriched');
      assert.match(entry?.summary ?? '', /185\.220\.101\.47 is malicious \(confidence 88\) from 1 source\(s\); no answer from abuseipdb/);
    });

    test('comment, severity and tags land on the case; a run without a case records nothing', async () => {
      await run('cases.comment', { body: 'Blocked at the EDL for 24h' });
      await run('cases.set_severity', { severity: 'high' });
      await run('cases.tag', { tags: ['auto-blocked', 'tor'] });
      await run('cases.tag', { tags: ['tor'] });
      const c = await deps.cases.getCase(caseId);
      assert.equal(c.severity, 'high');
      assert.deepEqual(c.tags, ['auto-blocked', 'tor']);
      assert.equal((await deps.cases.listComments(caseId))[0]?.body, 'Blocked at the EDL for 24h');
      const orphan = await run('cases.comment', { body: 'x' }, 'run-without-case');
      assert.equal(orphan.recorded, false);
      await assert.rejects(run('cases.comment', { body: 'x', case: '999999' }), (e: unknown) => e instanceof RiposteError && e.code === 'not_found');
    });
  });
}
