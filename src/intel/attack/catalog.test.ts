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

test('search ranks exact ids, then id prefixes, then names; mitigations and tactics per technique', () => {
  const catalog = loadAttackCatalog();
  assert.equal(catalog.search('t1059.001')[0]?.id, 'T1059.001');
  assert.ok(
    catalog
      .search('T1059')
      .slice(0, 5)
      .every((t) => t.id.startsWith('T1059')),
  );
  assert.equal(catalog.search('powershell')[0]?.name, 'PowerShell');
  assert.ok(catalog.search('').length > 0);
  assert.ok(catalog.mitigationsOf('T1059.001').some((m) => m.id === 'M1042'));
  assert.deepEqual(
    catalog.tacticsOf('T1078').map((t) => t.shortname),
    catalog.tactics.filter((t) => catalog.technique('T1078')?.tactics.includes(t.shortname)).map((t) => t.shortname),
  );
});
