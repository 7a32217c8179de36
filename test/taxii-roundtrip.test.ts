import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import { adaptPayload } from '../src/cases/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { createGuardedHttpClient } from '../src/integrations/sdk/http/index.ts';
import { feedCollection, TaxiiClient, TaxiiFeeds, validateStix } from '../src/intel/index.ts';
import { DEFAULT_TAXII_COLLECTION_ID } from '../src/store/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * The acceptance round trip: a case → STIX bundle → TAXII POST to our own server → TAXII GET by our own
 * client, paging with a small limit → exactly the objects that went in. Then a scheduled feed pulls the same
 * collection over real HTTP (Basic auth), resuming from its saved added_after.
 */
const PARTNERS = '0d3f6c1a-5b8e-4c2d-9a7f-1e2b3c4d5e6f';

for (const backend of testBackends()) {
  describe(`TAXII round trip (${backend.backend})`, () => {
    let testStore: TestStore;
    let runtime: Runtime;
    let server: RunningServer;
    let token: string;
    let apiRoot: string;
    const http = createGuardedHttpClient({ allow: ['127.0.0.1'] });

    before(async () => {
      testStore = await backend.open();
      await testStore.store.close();
      const config = loadConfig({
        env: testStore.env,
        cwd: tmpdir(),
        overrides: {
          'log.level': 'silent',
          'engine.runner': false,
          'intel.taxii.collections': [{ id: PARTNERS, api_root: 'partners', title: 'Partners', read: ['admin'], write: [] }],
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
      server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      await runtime.auth.createUser({ name: 'sharer', roles: ['admin'] });
      token = (await runtime.auth.createToken({ userName: 'sharer' })).token;
      apiRoot = `${server.url}/taxii2/default/`;

      // Two alerts with the same rule and URL correlate into one case, which the analyst then works.
      const alerts = adaptPayload(
        'generic',
        [
          {
            title: 'Click on phishing link',
            severity: 'high',
            time: '2026-11-28T01:00:00Z',
            id: 'px-1',
            rule: { name: 'phish-click', uid: 'r1' },
            observables: [{ type: 'url', value: 'https://login-micros0ft.example/owa' }],
          },
          {
            title: 'Second click on phishing link',
            severity: 'high',
            time: '2026-11-28T01:05:00Z',
            id: 'px-2',
            rule: { name: 'phish-click', uid: 'r1' },
            observables: [
              { type: 'url', value: 'https://login-micros0ft.example/owa' },
              { type: 'ipv4', value: '203.0.113.77' },
            ],
            techniques: ['T1078'],
          },
        ],
        Date.now(),
      );
      const results = await runtime.cases.ingest(alerts);
      assert.equal(new Set(results.map((r) => r.case_id)).size, 1);
      const caseId = results[0]?.case_id as string;
      await runtime.cases.updateCase(caseId, {
        title: 'Credential phishing against finance',
        description: 'Reported e-mail with a lookalike login page',
        tlp: 'amber',
        techniques: ['T1566.002', 'T1078'],
      });
      await runtime.cases.addCaseObservables(caseId, [
        { type: 'domain', value: 'login-micros0ft.example' },
        { type: 'sha256', value: 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' },
        { type: 'email', value: 'it-support@login-micros0ft.example' },
        { type: 'ipv4', value: '198.51.100.5' },
      ]);
      for (const o of await runtime.cases.observablesOf(caseId)) {
        if (o.value === '198.51.100.5') continue;
        await runtime.cases.recordEnrichment(o.id, { verdict: o.type === 'email' ? 'suspicious' : 'malicious', confidence: 85, enrichment: {} });
      }
    });
    after(async () => {
      await server?.close();
      await testStore?.dispose().catch(() => {});
    });

    test('case → bundle → POST → paged GET gives back identical objects', async () => {
      const exported = await http.request({ url: `${server.url}/api/v1/cases/1/stix`, headers: { authorization: `Bearer ${token}` } });
      assert.equal(exported.status, 200);
      assert.equal(exported.headers['content-type'], 'application/stix+json;version=2.1');
      const bundle = exported.json() as { type: string; objects: Array<Record<string, unknown>> };
      assert.equal(bundle.type, 'bundle');
      for (const o of bundle.objects) assert.deepEqual(validateStix(o).errors, [], `${o.id} is valid STIX`);
      const types = new Set(bundle.objects.map((o) => o.type));
      for (const t of ['report', 'identity', 'ipv4-addr', 'domain-name', 'url', 'file', 'email-addr', 'indicator', 'attack-pattern', 'relationship'])
        assert.ok(types.has(t), `bundle has ${t}`);
      const tlpAmber = 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421';
      for (const o of bundle.objects.filter((x) => x.type !== 'identity')) assert.deepEqual(o.object_marking_refs, [tlpAmber], `${o.id} carries TLP:AMBER`);
      const indicators = bundle.objects.filter((o) => o.type === 'indicator');
      assert.equal(indicators.length, 5);
      assert.ok(indicators.some((o) => o.pattern === "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"));
      const attack = bundle.objects.find(
        (o) => o.type === 'attack-pattern' && (o.external_references as Array<{ external_id: string }>)[0]?.external_id === 'T1566.002',
      );
      assert.match(String(attack?.id), /^attack-pattern--/);

      const client = new TaxiiClient({ http, auth: { type: 'bearer', token } });
      const status = await client.addObjects(apiRoot, DEFAULT_TAXII_COLLECTION_ID, bundle.objects);
      assert.equal(status.status, 'complete');
      assert.equal(status.success_count, bundle.objects.length);
      assert.deepEqual(await client.status(apiRoot, status.id), status);

      const basic = new TaxiiClient({ http, auth: { type: 'basic', user: 'sharer', password: token } });
      const received: Array<Record<string, unknown>> = [];
      let pages = 0;
      for await (const page of basic.objectPages(apiRoot, DEFAULT_TAXII_COLLECTION_ID, { limit: 4 })) {
        pages++;
        assert.ok((page.body.objects ?? []).length <= 4);
        received.push(...(page.body.objects ?? []));
      }
      assert.equal(pages, Math.ceil(bundle.objects.length / 4));
      const byId = (list: Array<Record<string, unknown>>) => [...list].sort((a, b) => String(a.id).localeCompare(String(b.id)));
      assert.deepEqual(byId(received), byId(bundle.objects));

      // Exporting again gives the same ids: sharing twice updates, it does not duplicate.
      const again = (await http.request({ url: `${server.url}/api/v1/cases/1/stix`, headers: { authorization: `Bearer ${token}` } })).json() as typeof bundle;
      assert.deepEqual(
        again.objects.map((o) => o.id),
        bundle.objects.map((o) => o.id),
      );
      const repeat = await client.addObjects(apiRoot, DEFAULT_TAXII_COLLECTION_ID, again.objects);
      assert.equal(repeat.success_count, again.objects.length);
      const manifest = await client.manifest(apiRoot, DEFAULT_TAXII_COLLECTION_ID, { limit: 1000 });
      assert.equal(manifest.body.objects?.length, bundle.objects.length);

      const collections = await client.collections(apiRoot);
      assert.equal(collections[0]?.id, DEFAULT_TAXII_COLLECTION_ID);
      assert.deepEqual((await client.discovery(`${server.url}/taxii2/`)).api_roots, [apiRoot, `${server.url}/taxii2/partners/`]);
      // The configured collection: readable by admins, writable by nobody.
      const partners = await client.collections(`${server.url}/taxii2/partners/`);
      assert.deepEqual(
        partners.map((c) => [c.id, c.can_read, c.can_write]),
        [[PARTNERS, true, false]],
      );
      await assert.rejects(client.addObjects(`${server.url}/taxii2/partners/`, PARTNERS, bundle.objects), /403/);
    });

    test('a scheduled feed pulls the collection page by page and resumes from its saved added_after', async () => {
      const feed = {
        name: 'self',
        url: apiRoot,
        collection: DEFAULT_TAXII_COLLECTION_ID,
        auth: { type: 'basic' as const, user: 'sharer', secret_env: 'SELF_TOKEN' },
        interval: 3_600_000,
        confidence: 40,
        tlp: 'green' as const,
        page_size: 3,
      };
      const feeds = new TaxiiFeeds({ feeds: [feed], store: runtime.store, indicators: runtime.indicators, http, env: { SELF_TOKEN: token } });
      const held = await runtime.store.intel.countObjects(DEFAULT_TAXII_COLLECTION_ID);
      const first = await feeds.pull('self');
      assert.equal(first.added, held);
      assert.equal(first.pages, Math.ceil(held / 3));
      assert.equal(first.indexed, 5);
      assert.equal(await runtime.store.intel.countObjects(feedCollection('self')), held);
      // The feed's indicators are live in the index (they carry TLP:AMBER from the case, not the feed's default).
      const hit = runtime.indicators.index.lookupDomain('www.login-micros0ft.example')[0];
      assert.equal(hit?.tlp, 'amber');
      const state = await feeds.state('self');
      assert.equal(state.added_after, first.addedAfter);
      assert.equal(state.last_error, null);

      const nothingNew = await feeds.pull('self');
      assert.equal(nothingNew.received, 0);

      const client = new TaxiiClient({ http, auth: { type: 'bearer', token } });
      await client.addObjects(apiRoot, DEFAULT_TAXII_COLLECTION_ID, [
        {
          type: 'indicator',
          spec_version: '2.1',
          id: 'indicator--7a1b2c3d-0000-4000-8000-000000000001',
          created: '2026-11-28T00:00:00.000Z',
          modified: '2026-11-28T00:00:00.000Z',
          pattern: "[ipv4-addr:value = '192.0.2.200']",
          pattern_type: 'stix',
          valid_from: '2026-11-28T00:00:00Z',
        },
      ]);
      const resumed = await feeds.pull('self');
      assert.equal(resumed.received, 1);
      // Stored under the feed with the feed's defaults (the index already serves this id from our own collection).
      const stored = await runtime.store.intel.queryObjects({
        collection: feedCollection('self'),
        ids: ['indicator--7a1b2c3d-0000-4000-8000-000000000001'],
        limit: 1,
      });
      assert.equal(stored.objects[0]?.confidence, 40);
      assert.equal(stored.objects[0]?.tlp, 'green');
      assert.equal(runtime.indicators.index.lookupIp('192.0.2.200').length, 1);

      const broken = new TaxiiFeeds({ feeds: [feed], store: runtime.store, indicators: runtime.indicators, http, env: {} });
      await assert.rejects(broken.pull('self'), /SELF_TOKEN/);
      assert.match(String((await broken.state('self')).last_error), /SELF_TOKEN/);
    });
  });
}
