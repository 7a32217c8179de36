import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import { acceptsTaxii, isTaxiiContentType, taxiiErrorMessage } from './taxii-media.ts';

test('Accept: TAXII 2.1 with or without version, wildcards and absent headers are acceptable; others are not', () => {
  for (const ok of [
    undefined,
    '',
    '*/*',
    'application/*',
    'application/taxii+json',
    'application/taxii+json;version=2.1',
    'application/json, application/taxii+json; version="2.1"',
  ])
    assert.equal(acceptsTaxii(ok), true, String(ok));
  for (const bad of ['application/json', 'application/taxii+json;version=2.0', 'application/stix+json;version=2.1', 'application/taxii+json;q=0'])
    assert.equal(acceptsTaxii(bad), false, bad);
});

test('Content-Type must be the TAXII media type (2.1 or unversioned)', () => {
  assert.equal(isTaxiiContentType('application/taxii+json;version=2.1'), true);
  assert.equal(isTaxiiContentType('Application/TAXII+json'), true);
  assert.equal(isTaxiiContentType('application/json'), false);
  assert.equal(isTaxiiContentType('application/taxii+json;version=2.0'), false);
  assert.equal(isTaxiiContentType(undefined), false);
});

test('error messages carry title, description, code and http_status as a string', () => {
  assert.deepEqual(taxiiErrorMessage(new RiposteError('taxii.forbidden', 'no', { status: 403 }), 'req-1'), {
    title: 'Forbidden',
    description: 'no',
    error_code: 'taxii.forbidden',
    http_status: '403',
    error_id: 'req-1',
  });
});
