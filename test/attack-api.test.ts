import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attackCoverage, caseStixBundle } from '../src/app/intel.ts';
import { CasesService } from '../src/cases/index.ts';
import type { PlaybookDirectory } from '../src/engine/index.ts';
import { loadAttackCatalog } from '../src/intel/index.ts';
import { openTestServer, type TestServer } from '../src/server/testing.ts';
import { testBackends } from '../src/store/testing.ts';

const catalog = loadAttackCatalog();

/** Two playbooks' ATT&CK metadata, as the playbooks folder would list them. */
const playbooks = {
  dir: 'playbooks',
  get: () => undefined,
  find: () => undefined,
  files: () => [
    { file: 'phish.yml', issues: [], playbook: { id: 'reported-phish', attack: { detects: ['T1566.001'], responds_to: ['T1566'] } } },
    { file: 'ip.yml', issues: [], playbook: { id: 'suspicious-ip', attack: { detects: ['T1078'], responds_to: [] } } },
    { file: 'plain.yml', issues: [], playbook: { id: 'plain' } },
  ],
} as unknown as PlaybookDirectory;

for (const backend of testBackends()) {
  describe(`ATT&CK and case STIX API (${backend.backend})`, () => {
    let server: TestServer;
    let cases: CasesService;
    before(async () => {
      server = await openTestServer(backend, {
        services: (store) => {
          cases = new CasesService({ store, techniqueExists: catalog.techniqueExists });
          return {
            cases,
            intel: { attack: catalog, caseBundle: (ref) => caseStixBundle(cases, catalog, ref), coverage: () => attackCoverage(store, catalog, playbooks) },
          };
        },
      });
    });
    after(async () => {
      await server.dispose();
    });

    test('technique search ranks an exact id first, then names containing every word', async () => {
      const viewer = await server.as('viewer');
      const byId = await server.app.inject({ url: '/api/v1/attack/techniques?q=T1566', headers: viewer });
      assert.equal(byId.statusCode, 200);
      assert.deepEqual(
        byId
          .json()
          .items.map((t: { id: string }) => t.id)
          .slice(0, 4),
        ['T1566', 'T1566.001', 'T1566.002', 'T1566.003'],
      );
      const byWords = await server.app.inject({ url: '/api/v1/attack/techniques?q=spearphishing%20attachment&limit=3', headers: viewer });
      assert.equal(byWords.json().items[0].id, 'T1566.001');
      assert.equal((await server.app.inject({ url: '/api/v1/attack/techniques?q=x', headers: await server.as('viewer', ['cases:read']) })).statusCode, 403);
    });

    test('one technique comes with its tactics, sub-techniques and mitigations', async () => {
      const res = await server.app.inject({ url: '/api/v1/attack/techniques/t1566', headers: await server.as('viewer') });
      const t = res.json();
      assert.equal(t.id, 'T1566');
      assert.deepEqual(
        t.tactics.map((x: { id: string }) => x.id),
        ['TA0001'],
      );
      assert.ok(t.subtechniques.some((s: { id: string }) => s.id === 'T1566.002'));
      assert.ok(t.mitigations.length > 0 && t.mitigations.every((m: { id: string }) => /^M\d{4}$/.test(m.id)));
      assert.equal((await server.app.inject({ url: '/api/v1/attack/techniques/T9999', headers: await server.as('viewer') })).statusCode, 404);
    });

    test('coverage joins techniques on cases with what playbooks detect and respond to', async () => {
      await cases.createCase({ title: 'a', techniques: ['T1566.001'] });
      await cases.createCase({ title: 'b', techniques: ['T1566.001', 'T1059.001'] });
      const res = await server.app.inject({ url: '/api/v1/attack/coverage', headers: await server.as('viewer') });
      const coverage = res.json();
      const initial = coverage.tactics.find((t: { id: string }) => t.id === 'TA0001');
      const spear = initial.techniques.find((t: { id: string }) => t.id === 'T1566.001');
      assert.deepEqual(spear, { id: 'T1566.001', name: spear.name, cases: 2, detected_by: ['reported-phish'], responded_by: [] });
      const phishing = initial.techniques.find((t: { id: string }) => t.id === 'T1566');
      assert.deepEqual(phishing.responded_by, ['reported-phish']);
      assert.equal(coverage.totals.techniques_on_cases, 2);
      assert.equal(coverage.totals.techniques_detected, 2);
      assert.equal(coverage.totals.techniques_responded, 1);
    });

    test('a case exports as a STIX bundle; viewers may read it, strangers may not', async () => {
      const c = await cases.createCase({ title: 'export me', tlp: 'red', techniques: ['T1078'], observables: [{ type: 'ipv4', value: '203.0.113.9' }] });
      const res = await server.app.inject({ url: `/api/v1/cases/${c.number}/stix`, headers: await server.as('viewer') });
      assert.equal(res.statusCode, 200);
      const bundle = res.json();
      const report = bundle.objects.find((o: { type: string }) => o.type === 'report');
      assert.equal(report.name, `Case #${c.number}: export me`);
      assert.deepEqual(report.object_marking_refs, ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1']);
      assert.ok(bundle.objects.some((o: { type: string; value?: string }) => o.type === 'ipv4-addr' && o.value === '203.0.113.9'));
      assert.equal((await server.app.inject({ url: `/api/v1/cases/${c.number}/stix` })).statusCode, 401);
      assert.equal((await server.app.inject({ url: '/api/v1/cases/999/stix', headers: await server.as('viewer') })).statusCode, 404);
    });
  });
}
