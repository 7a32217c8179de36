import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editDistance, findLookalike, skeleton } from './lookalike-domains.ts';

const PROTECTED = ['examplecorp.com', 'paypal.com', 'microsoft.com'];

describe('lookalike domains', () => {
  test('the skeleton maps confusable characters to their prototypes', () => {
    assert.equal(skeleton('pаypal'), 'paypal'); // Cyrillic а
    assert.equal(skeleton('micros0ft'), 'microsoft');
    assert.equal(skeleton('rnicrosoft'), 'microsoft');
    assert.equal(skeleton('ραуραl'), 'paypal'); // Greek rho and alpha, Cyrillic u
    assert.equal(editDistance('examplecorp', 'exampelcorp'), 1); // adjacent swap is one edit
  });

  test('each technique is named, and the protected domains and their subdomains are not lookalikes', () => {
    const technique = (d: string) => findLookalike(d, PROTECTED)?.technique;
    assert.equal(technique('xn--pypal-4ve.com'), 'punycode');
    assert.equal(technique('pаypal.com'), 'skeleton');
    assert.equal(technique('rnicrosoft.com'), 'skeleton');
    assert.equal(technique('examplecrop.com'), 'edit_distance');
    assert.equal(technique('examplecorp.co'), 'suffix_swap');
    assert.equal(technique('paypal.com.account-verify.io'), 'embedded_name');
    assert.equal(technique('examplecorp.com'), undefined);
    assert.equal(technique('mail.examplecorp.com'), undefined);
    assert.equal(technique('accountprotection.microsoft.com'), undefined);
    assert.equal(technique('github.com'), undefined);
    assert.equal(technique('example.org'), undefined);
  });
});
