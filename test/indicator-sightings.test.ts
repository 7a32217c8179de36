import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { wireIndicatorSightings } from '../src/app/indicator-sightings.ts';
import { adaptPayload, CasesService } from '../src/cases/index.ts';
import { IndicatorStore } from '../src/intel/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

const INDICATOR = 'indicator--0b0b0b0b-0000-4000-8000-000000000001';

for (const backend of testBackends()) {
  describe(`sightings recorded back from alerts (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('an alert whose domain falls under an indicator records a sighting; a repeat of it does not', async () => {
      const cases = new CasesService({ store: t.store });
      const indicators = new IndicatorStore({ store: t.store });
      await indicators.ingest('local', [
        {
          type: 'indicator',
          spec_version: '2.1',
          id: INDICATOR,
          created: '2026-01-01T00:00:00.000Z',
          modified: '2026-01-01T00:00:00.000Z',
          pattern: "[domain-name:value = 'bad.example']",
          pattern_type: 'stix',
          valid_from: '2026-01-01T00:00:00Z',
        },
      ]);
      const stop = wireIndicatorSightings({ cases, indicators });
      const alert = {
        title: 'DNS to bad infra',
        severity: 'medium',
        time: '2026-11-28T01:00:00Z',
        id: 'dns-1',
        observables: [{ type: 'domain', value: 'cdn.bad.example' }],
      };
      await cases.ingest(adaptPayload('generic', alert, Date.now()));
      await cases.ingest(adaptPayload('generic', alert, Date.now()));
      await cases.ingest(adaptPayload('generic', { ...alert, id: 'dns-2', observables: [{ type: 'domain', value: 'good.example' }] }, Date.now()));
      await cases.drain();
      // Sightings are written after the event; give the write its turn.
      for (let i = 0; i < 50 && (await t.store.intel.getSighting(INDICATOR)) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      // …and a moment more, so a wrongly recorded second sighting would be seen.
      await new Promise((r) => setTimeout(r, 100));
      stop();
      const tally = await t.store.intel.getSighting(INDICATOR);
      assert.equal(tally?.count, 1);
      assert.equal(tally?.firstSeen, Date.parse('2026-11-28T01:00:00Z'));
    });
  });
}
