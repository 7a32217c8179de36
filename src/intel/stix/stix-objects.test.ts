import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRiposteError } from '../../core/index.ts';
import { parseStix, TLP_2_EXTENSION_ID, tlpOf, validateStix } from './stix-objects.ts';

const indicator = {
  type: 'indicator',
  spec_version: '2.1',
  id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  created_by_ref: 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff',
  created: '2016-04-06T20:03:48.000Z',
  modified: '2016-04-06T20:03:48.000Z',
  indicator_types: ['malicious-activity'],
  name: 'Poison Ivy Malware',
  pattern: "[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']",
  pattern_type: 'stix',
  valid_from: '2016-01-01T00:00:00Z',
  object_marking_refs: ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'],
  x_acme_score: 7,
};

function errorPaths(value: unknown): string[] {
  return validateStix(value).errors.map((e) => e.path);
}

describe('STIX objects', () => {
  test('a valid indicator passes and comes back unchanged, custom properties included', () => {
    const result = validateStix(indicator);
    assert.deepEqual(result.errors, []);
    assert.equal(parseStix(indicator), indicator);
  });
  test('required common properties and identifier rules, by JSON path', () => {
    const { spec_version: _s, created: _c, ...bare } = indicator;
    assert.deepEqual(errorPaths(bare).sort(), ['$.created', '$.spec_version']);
    assert.deepEqual(errorPaths({ ...indicator, id: 'indicator--not-a-uuid' }), ['$.id']);
    assert.deepEqual(errorPaths({ ...indicator, id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }), ['$.id']);
    assert.deepEqual(errorPaths({ ...indicator, spec_version: '2.0' }), ['$.spec_version']);
  });
  test('timestamps: format, millisecond precision on created/modified, modified ≥ created', () => {
    assert.deepEqual(errorPaths({ ...indicator, created: '2016-04-06 20:03:48Z' }), ['$.created']);
    assert.deepEqual(errorPaths({ ...indicator, created: '2016-04-06T20:03:48Z' }), ['$.created']);
    assert.deepEqual(errorPaths({ ...indicator, modified: '2016-04-05T20:03:48.000Z' }), ['$.modified']);
    const micro = validateStix({ ...indicator, modified: '2016-04-06T20:03:48.000123Z' });
    assert.equal(micro.valid, true);
    assert.deepEqual(
      micro.warnings.map((w) => w.path),
      ['$.modified'],
    );
  });
  test('indicator rules: valid_until after valid_from, confidence 0–100, the pattern parses', () => {
    assert.deepEqual(errorPaths({ ...indicator, valid_until: '2016-01-01T00:00:00Z' }), ['$.valid_until']);
    assert.deepEqual(errorPaths({ ...indicator, valid_until: '2016-01-01T00:00:01Z' }), []);
    assert.deepEqual(errorPaths({ ...indicator, confidence: 101 }), ['$.confidence']);
    assert.deepEqual(errorPaths({ ...indicator, confidence: 55.5 }), ['$.confidence']);
    assert.deepEqual(errorPaths({ ...indicator, confidence: 0 }), []);
    const bad = validateStix({ ...indicator, pattern: "[file:name = 'x'" });
    assert.deepEqual(
      bad.errors.map((e) => e.path),
      ['$.pattern'],
    );
    assert.match(bad.errors[0]?.message ?? '', /offset 16/);
    assert.deepEqual(errorPaths({ ...indicator, pattern_type: 'sigma', pattern: 'title: x' }), [], 'other pattern languages are not parsed');
  });
  test('SROs and SCOs', () => {
    const rel = {
      type: 'relationship',
      spec_version: '2.1',
      id: 'relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad',
      created: '2016-04-06T20:06:37.000Z',
      modified: '2016-04-06T20:06:37.000Z',
      relationship_type: 'indicates',
      source_ref: indicator.id,
      target_ref: 'malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b',
    };
    assert.deepEqual(errorPaths(rel), []);
    assert.deepEqual(errorPaths({ ...rel, target_ref: 'nope' }), ['$.target_ref']);
    assert.deepEqual(errorPaths({ type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '198.51.100.3' }), []);
    assert.deepEqual(errorPaths({ type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd' }), ['$.value']);
    assert.deepEqual(errorPaths({ type: 'file', id: 'file--ff26c055-6336-5bc5-b98d-13d6226742dd' }), ['$']);
    const sighting = {
      type: 'sighting',
      spec_version: '2.1',
      id: 'sighting--ee20065d-2555-424f-ad9e-0f8fd3bd5e46',
      created: '2016-04-06T20:08:31.000Z',
      modified: '2016-04-06T20:08:31.000Z',
      sighting_of_ref: indicator.id,
      count: -1,
    };
    assert.deepEqual(errorPaths(sighting), ['$.count']);
  });
  test('unknown and custom types are preserved, checked only for common rules', () => {
    const custom = {
      type: 'x-acme-widget',
      spec_version: '2.1',
      id: 'x-acme-widget--9c9e5c6e-9b7a-4b8a-8d7b-0b8e2a1f3c4d',
      created: '2020-01-01T00:00:00.000Z',
      modified: '2020-01-01T00:00:00.000Z',
      anything: { nested: [1, 2] },
    };
    assert.equal(parseStix(custom), custom);
    assert.deepEqual(errorPaths({ ...custom, type: 'X_Bad' }).includes('$.type'), true);
  });
  test('markings: TLP 1.0 and 2.0 fixed ids, granular markings', () => {
    const tlp1 = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      name: 'TLP:AMBER',
      definition: { tlp: 'amber' },
    };
    assert.deepEqual(errorPaths(tlp1), []);
    assert.deepEqual(errorPaths({ ...tlp1, definition: { tlp: 'red' } }).sort(), ['$.definition', '$.id']);
    const tlp2 = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
      created: '2022-10-01T00:00:00.000Z',
      name: 'TLP:AMBER+STRICT',
      extensions: { [TLP_2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: 'amber+strict' } },
    };
    assert.deepEqual(errorPaths(tlp2), []);
    assert.deepEqual(errorPaths({ ...tlp2, id: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487' }).sort(), ['$.extensions', '$.id']);
    assert.deepEqual(
      errorPaths({ ...indicator, granular_markings: [{ selectors: ['name'], marking_ref: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed' }] }),
      [],
    );
    assert.deepEqual(errorPaths({ ...indicator, granular_markings: [{ selectors: [], marking_ref: 'x', lang: 'en' }] }).sort(), [
      '$.granular_markings[0]',
      '$.granular_markings[0].marking_ref',
      '$.granular_markings[0].selectors',
    ]);
    assert.equal(tlpOf(['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1']), 'red');
    assert.equal(tlpOf(['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9']), 'clear');
  });
  test('bundles: every object checked, paths include the index', () => {
    const bundle = { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects: [indicator, { ...indicator, confidence: 200 }] };
    assert.deepEqual(errorPaths(bundle), ['$.objects[1].confidence']);
    assert.throws(
      () => parseStix(bundle),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.invalid_object' && /\$\.objects\[1\]\.confidence/.test(e.message),
    );
  });
});
