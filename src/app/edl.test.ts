import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger, ManualClock, RiposteError } from '../core/index.ts';
import { openTestServer, type TestServer } from '../server/testing.ts';
import { testBackends } from '../store/testing.ts';
import { caseActions } from './case-actions.ts';
import { buildCasesService } from './cases.ts';
import { EdlService, edlActions, edlValue, type ResponseDeps } from './edl.ts';
import { edlValueFor } from './edl-values.ts';
import { phishingActions } from './phishing-actions.ts';

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

describe('typed EDL values (the PAN-OS URL and domain list formats, sender lists)', () => {
  const refusedWith = (pattern: RegExp) => (e: unknown) => e instanceof RiposteError && e.code === 'edl.invalid_value' && pattern.test(e.message);

  test('URLs lose scheme, port and fragment, keep path and query, get a lower-case punycode host; whole sites end in /', () => {
    assert.equal(edlValueFor('url', 'HTTPS://Login.Examp1e-Corp.TOP:8443/Verify?id=1#top'), 'login.examp1e-corp.top/Verify?id=1');
    assert.equal(edlValueFor('url', 'http://evil.example'), 'evil.example/');
    assert.equal(edlValueFor('url', 'evil.example?x=1'), 'evil.example/?x=1');
    assert.equal(edlValueFor('url', 'https://www.paypal.com@evil.example/login'), 'evil.example/login');
    assert.equal(edlValueFor('url', 'https://Bücher-Login.example/a'), 'xn--bcher-login-thb.example/a');
    assert.equal(edlValueFor('url', 'https://203.0.113.9:8080/x'), '203.0.113.9/x');
    assert.equal(edlValueFor('url', '*.evil.top/login'), '*.evil.top/login');
    assert.equal(edlValueFor('url', 'https://evil.example/connexion/sécurité'), 'evil.example/connexion/s%C3%A9curit%C3%A9');
    // A path on a popular site is one page (a form on a big hosting service), not the site.
    assert.equal(edlValueFor('url', 'https://docs.google.com/forms/d/e/1FAIpQL/viewform'), 'docs.google.com/forms/d/e/1FAIpQL/viewform');
  });

  test('URLs that would block a popular site, a TLD or nothing a firewall can match are refused, naming the problem', () => {
    assert.throws(() => edlValueFor('url', 'https://www.google.com/'), refusedWith(/google\.com, one of the 10,000 most-visited sites/));
    assert.throws(() => edlValueFor('url', 'https://google.com'), refusedWith(/most-visited/));
    assert.throws(() => edlValueFor('url', '*.top/'), refusedWith(/public suffix top would block a whole TLD/));
    assert.throws(() => edlValueFor('url', 'evil.*/x'), refusedWith(/top-level domain would block a whole TLD/));
    assert.throws(() => edlValueFor('url', 'https://ev*il.example/'), refusedWith(/whole label/));
    assert.throws(() => edlValueFor('url', 'ftp://files.evil.example/x'), refusedWith(/only http and https/));
    assert.throws(() => edlValueFor('url', 'https://co.uk/'), refusedWith(/co\.uk is a public suffix/));
    assert.throws(() => edlValueFor('url', `https://evil.example/${'a'.repeat(300)}`), refusedWith(/255 characters/));
  });

  test('domains are IDNA-normalised and may be *.-prefixed; suffixes, TLD wildcards, popular sites and non-domains are refused', () => {
    assert.equal(edlValueFor('domain', 'Bücher.Example.'), 'xn--bcher-kva.example');
    assert.equal(edlValueFor('domain', '*.Evil.top'), '*.evil.top');
    assert.throws(() => edlValueFor('domain', '*.top'), refusedWith(/whole TLD/));
    assert.throws(() => edlValueFor('domain', 'co.uk'), refusedWith(/public suffix/));
    assert.throws(() => edlValueFor('domain', 'mail.google.com'), refusedWith(/google\.com, one of the 10,000 most-visited/));
    assert.throws(() => edlValueFor('domain', 'https://evil.top/'), refusedWith(/not a domain name/));
    assert.throws(() => edlValueFor('domain', '203.0.113.9'), refusedWith(/put it on an ip list/));
    assert.throws(() => edlValueFor('domain', 'a.*.evil.top'), refusedWith(/leading "\*\."/));
  });

  test('senders are addresses or whole domains, lower-case; a big mail provider is never blocked whole', () => {
    assert.equal(edlValueFor('sender', '<Voicemail@VM-Notify.net>'), 'voicemail@vm-notify.net');
    assert.equal(edlValueFor('sender', 'someone@gmail.com'), 'someone@gmail.com');
    assert.equal(edlValueFor('sender', '@Evil.example'), 'evil.example');
    assert.throws(() => edlValueFor('sender', 'gmail.com'), refusedWith(/every sender at gmail\.com/));
    assert.throws(() => edlValueFor('sender', 'a..b@evil.example'), refusedWith(/not a valid mailbox name/));
    assert.throws(() => edlValueFor('sender', 'x@com'), refusedWith(/com is a public suffix/));
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

    const phishing = (id: string) => {
      const action = phishingActions({ deps: { store: deps.store, cases: deps.cases, clock } }).find((a) => a.id === id);
      assert.ok(action, id);
      return action;
    };
    const served = async (list: string) => (await server.app.inject({ url: `/edl/${list}`, headers: await server.as('viewer') })).body;

    test('phishing.block_indicators serves URLs, domains and senders on their own lists, refuses what it must not block, and expires them', async () => {
      const block = phishing('phishing.block_indicators');
      const out = (await block.run(
        block.input.parse({
          urls: ['https://Login.Examp1e-Corp.top/verify#x', 'https://www.google.com/'],
          domains: ['examp1e-corp.top'],
          senders: ['Boss@Examp1e-Corp.top'],
          ttl: '2h',
        }),
        context('run-1', 'phish'),
      )) as { added: Record<string, string[]>; refused: Array<{ value: string; message: string }>; expires_at: string };
      assert.deepEqual(out.added, { urls: ['login.examp1e-corp.top/verify'], domains: ['examp1e-corp.top'], senders: ['boss@examp1e-corp.top'] });
      assert.equal(out.refused[0]?.value, 'https://www.google.com/');
      assert.match(out.refused[0]?.message ?? '', /one of the 10,000 most-visited sites/);
      assert.equal(out.expires_at, new Date(clock.now() + 7_200_000).toISOString());
      assert.equal(await served('riposte-urls'), 'login.examp1e-corp.top/verify\n');
      assert.equal(await served('riposte-domains'), 'examp1e-corp.top\n');
      assert.equal(await served('riposte-senders'), 'boss@examp1e-corp.top\n');
      const kinds = (await deps.cases.timeline(caseId)).items.map((e) => e.kind);
      assert.ok(kinds.includes('edl.added') && kinds.includes('phishing.block_refused'), JSON.stringify(kinds));
      clock.advance(7_200_001);
      assert.equal(await served('riposte-urls'), '');
      assert.equal(await served('riposte-senders'), '');
    });

    test("the inverse removes exactly what the block added, never an entry someone else's block still needs", async () => {
      const operator = { kind: 'user' as const, id: 'olga', name: 'olga' };
      const edl = new EdlService({ store: deps.store, cases: deps.cases, clock });
      await edl.add({ value: 'https://shared.example/kit', type: 'url', ttlMs: null }, operator);
      const block = phishing('phishing.block_indicators');
      const input = block.input.parse({ urls: ['https://shared.example/kit', 'https://mine.example/kit'], senders: ['x@mine.example'] });
      const out = (await block.run(input, context('run-2', 'phish'))) as { added: { urls: string[] }; refreshed: { urls: string[] } };
      assert.deepEqual(out.added.urls, ['mine.example/kit']);
      assert.deepEqual(out.refreshed.urls, ['shared.example/kit']);
      // The default ttl (phishing.block_ttl, 30 days) is in the arguments the containment record reads.
      assert.equal((input as { ttl: string }).ttl, '2592000s');
      // A retry of the same step still counts its own entries as its own.
      const retried = (await block.run(input, context('run-2', 'phish'))) as { added: { urls: string[] } };
      assert.deepEqual(retried.added.urls, ['mine.example/kit']);
      const unblock = phishing('phishing.unblock_indicators');
      await unblock.run(unblock.input.parse(block.inverseInput?.(input, out)), context('run-2', 'undo'));
      assert.equal(await served('riposte-urls'), 'shared.example/kit\n');
      assert.equal(await served('riposte-senders'), '');
    });

    test('a list keeps its type: the IP list refuses a URL, a new list takes the type of its first entry', async () => {
      const operator = { kind: 'user' as const, id: 'olga', name: 'olga' };
      const edl = new EdlService({ store: deps.store, cases: deps.cases, clock, listTypes: { 'proxy-block': 'url' } });
      await assert.rejects(
        edl.add({ value: 'https://evil.example/a', type: 'url', list: 'riposte-block', ttlMs: 60_000 }, operator),
        (e: unknown) => e instanceof RiposteError && e.code === 'edl.list_type_mismatch' && /riposte-block is a ip list/.test(e.message),
      );
      await assert.rejects(edl.add({ value: 'https://evil.example/a', list: 'riposte-block', ttlMs: 60_000 }, operator), /not an IP address/);
      assert.equal((await edl.add({ value: 'Evil.Example', list: 'sinkhole', ttlMs: 60_000 }, operator)).entry.value, 'evil.example');
      assert.equal(await edl.typeOf('sinkhole'), 'domain');
      await assert.rejects(edl.add({ value: '203.0.113.7', list: 'sinkhole', ttlMs: 60_000 }, operator), /put it on an ip list/);
      assert.equal(await edl.typeOf('proxy-block'), 'url');
      assert.equal((await edl.add({ value: 'evil.example', list: 'proxy-block', ttlMs: 60_000 }, operator)).entry.value, 'evil.example/');
    });
  });
}
