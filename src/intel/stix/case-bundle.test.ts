import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAttackCatalog } from '../attack/catalog.ts';
import { type CaseStixInput, caseToStixBundle, scoForObservable, scoId } from './case-bundle.ts';
import { validateStix } from './stix-objects.ts';

const catalog = loadAttackCatalog();

function input(overrides: Partial<CaseStixInput> = {}): CaseStixInput {
  return {
    case: {
      id: '01900000-0000-7000-8000-000000000001',
      number: 7,
      title: 'Beaconing host',
      description: 'C2 over HTTPS',
      severity: 'high',
      status: 'in_progress',
      tlp: 'green',
      techniques: ['T1071.001'],
      created_at: '2026-11-01T10:00:00.000Z',
      updated_at: '2026-11-02T10:00:00.000Z',
    },
    observables: [
      {
        id: 'o1',
        type: 'ipv4',
        value: '198.51.100.3',
        verdict: 'malicious',
        confidence: 90,
        first_seen_at: '2026-11-01T10:00:00.000Z',
        last_seen_at: '2026-11-01T10:00:00.000Z',
        enriched_at: '2026-11-01T10:05:00.000Z',
      },
      {
        id: 'o2',
        type: 'hostname',
        value: 'ws-17.corp.example',
        verdict: null,
        confidence: null,
        first_seen_at: '2026-11-01T10:00:00.000Z',
        last_seen_at: '2026-11-01T10:00:00.000Z',
        enriched_at: null,
      },
      {
        id: 'o3',
        type: 'process',
        value: 'powershell.exe',
        verdict: 'malicious',
        confidence: 50,
        first_seen_at: '2026-11-01T10:00:00.000Z',
        last_seen_at: '2026-11-01T10:00:00.000Z',
        enriched_at: null,
      },
    ],
    alerts: [
      {
        id: 'a1',
        title: 'Beacon to 198.51.100.3',
        time: Date.parse('2026-11-01T09:59:00Z'),
        received_at: null,
        last_seen_at: '2026-11-01T11:00:00.000Z',
        count: 3,
        observables: [{ type: 'ipv4', value: '198.51.100.3' }],
        techniques: [],
      },
      {
        id: 'a2',
        title: 'Odd DNS',
        time: Date.parse('2026-11-01T09:00:00Z'),
        received_at: null,
        last_seen_at: null,
        count: 1,
        observables: [{ type: 'domain', value: 'x.example' }],
        techniques: [],
      },
    ],
    ...overrides,
  };
}

test('SCO ids follow the STIX 2.1 UUIDv5 rule (same as python-stix2 for the same value)', () => {
  assert.equal(scoId('ipv4-addr', { value: '198.51.100.3' }), 'ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4');
  const file = scoForObservable('SHA256'.toLowerCase(), 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F');
  assert.equal(file?.pattern, "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']");
  assert.equal(scoForObservable('url', "http://x.example/it's")?.pattern, "[url:value = 'http://x.example/it\\'s']");
  assert.equal(scoForObservable('process', 'x'), undefined);
});

test('a case becomes a valid bundle: report, SCOs, indicators, sightings, attack-patterns, TLP everywhere', () => {
  const bundle = caseToStixBundle(input(), catalog);
  for (const o of bundle.objects) assert.deepEqual(validateStix(o).errors, [], String(o.id));
  const byType = (type: string) => bundle.objects.filter((o) => o.type === type);
  assert.equal(byType('report').length, 1);
  assert.deepEqual(
    byType('ipv4-addr').map((o) => o.id),
    ['ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4'],
  );
  assert.equal(byType('domain-name').length, 1);
  // Only observables STIX can express and with a malicious/suspicious verdict become indicators.
  assert.equal(byType('indicator').length, 1);
  assert.equal(byType('indicator')[0]?.confidence, 90);
  const [attackPattern] = byType('attack-pattern');
  assert.equal(attackPattern?.id, catalog.technique('T1071.001')?.stix_id);
  const sightings = byType('sighting');
  // a1 is a sighting of the indicator; a2 (no indicator) of the case's technique.
  assert.deepEqual(sightings.map((s) => s.sighting_of_ref).sort(), [attackPattern?.id, byType('indicator')[0]?.id].sort());
  assert.equal(sightings.find((s) => s.description === 'Beacon to 198.51.100.3')?.count, 3);
  assert.ok(sightings.every((s) => String(s.last_seen) >= String(s.first_seen)));
  assert.deepEqual(
    byType('relationship')
      .map((r) => r.relationship_type)
      .sort(),
    ['indicates', 'related-to'],
  );
  const green = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';
  for (const o of bundle.objects.filter((x) => x.type !== 'identity')) assert.deepEqual(o.object_marking_refs, [green]);
  const report = byType('report')[0] as Record<string, unknown>;
  assert.equal((report.object_refs as string[]).length, bundle.objects.length - 2);
});

test('exporting the same case again yields the same object ids (new versions, not duplicates)', () => {
  const first = caseToStixBundle(input(), catalog);
  const second = caseToStixBundle(input({ case: { ...input().case, updated_at: '2026-11-03T00:00:00.000Z' } }), catalog);
  assert.deepEqual(
    second.objects.map((o) => o.id),
    first.objects.map((o) => o.id),
  );
  assert.notEqual(second.id, first.id);
});
