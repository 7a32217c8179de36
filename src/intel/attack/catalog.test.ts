import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAttackCatalog } from './catalog.ts';

test('the shipped ATT&CK catalog knows current techniques and refuses unknown or revoked ones', () => {
  const catalog = loadAttackCatalog();
  assert.ok(catalog.techniqueCount > 500);
  assert.match(catalog.license, /MITRE/);
  assert.equal(catalog.techniqueExists('T1059.001'), true);
  assert.equal(catalog.techniqueExists('t1547.001'), true);
  assert.equal(catalog.technique('T1059')?.name, 'Command and Scripting Interpreter');
  assert.equal(catalog.techniqueExists('T9999'), false);
  const revoked = ['T1064', 'T1086'].filter((id) => catalog.technique(id)?.revoked || catalog.technique(id)?.deprecated);
  for (const id of revoked) assert.equal(catalog.techniqueExists(id), false, `${id} is revoked/deprecated`);
});
