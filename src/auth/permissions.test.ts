import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isPermission, isRole, PERMISSIONS, permissionsForRoles, ROLE_PERMISSIONS, ROLE_SUMMARIES, ROLES } from './permissions.ts';

const SECURITY_DOC = new URL('../../docs/security.md', import.meta.url);

describe('roles and permissions', () => {
  test('the catalog is the one in the common brief, without duplicates', () => {
    assert.equal(new Set(PERMISSIONS).size, PERMISSIONS.length);
    assert.equal(PERMISSIONS.length, 38);
    for (const p of PERMISSIONS) assert.match(p, /^[a-z]+:[a-z]+$/);
  });

  test('roles grant what the brief says', () => {
    const reads = PERMISSIONS.filter((p) => p.endsWith(':read') && p !== 'audit:read');
    for (const p of reads) assert.ok(ROLE_PERMISSIONS.viewer.includes(p), `viewer reads ${p}`);
    assert.equal(ROLE_PERMISSIONS.viewer.includes('audit:read'), false);
    for (const p of [
      'cases:write',
      'cases:assign',
      'cases:close',
      'observables:write',
      'tasks:write',
      'comments:write',
      'evidence:write',
      'runs:start',
    ] as const) {
      assert.ok(ROLE_PERMISSIONS.analyst.includes(p), `analyst has ${p}`);
      assert.equal(ROLE_PERMISSIONS.approver.includes(p), false, `approver lacks ${p}`);
    }
    assert.deepEqual(
      ROLE_PERMISSIONS.responder.filter((p) => !ROLE_PERMISSIONS.analyst.includes(p)),
      ['runs:cancel', 'actions:rollback', 'hunts:run', 'ai:draft'],
    );
    assert.deepEqual(
      ROLE_PERMISSIONS.approver.filter((p) => !ROLE_PERMISSIONS.viewer.includes(p)),
      ['approvals:decide', 'ai:use'],
    );
    assert.deepEqual([...ROLE_PERMISSIONS.admin], [...PERMISSIONS]);
    for (const role of ROLES) assert.ok(ROLE_SUMMARIES[role]);
  });

  test('several roles grant the union, in catalog order; unknown roles grant nothing', () => {
    const both = permissionsForRoles(['approver', 'analyst']);
    assert.ok(both.includes('approvals:decide') && both.includes('cases:write'));
    assert.deepEqual(
      both,
      PERMISSIONS.filter((p) => both.includes(p)),
    );
    assert.deepEqual(permissionsForRoles(['root']), []);
    assert.equal(isRole('admin'), true);
    assert.equal(isRole('root'), false);
    assert.equal(isPermission('cases:read'), true);
    assert.equal(isPermission('cases:fly'), false);
  });

  test('docs/security.md shows exactly this table', () => {
    const doc = readFileSync(SECURITY_DOC, 'utf8');
    const start = doc.indexOf('<!-- role-permission-table:start -->');
    const end = doc.indexOf('<!-- role-permission-table:end -->');
    assert.ok(start >= 0 && end > start, 'table markers present');
    const lines = doc
      .slice(start, end)
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    const header = doc
      .slice(start, end)
      .split('\n')
      .find((l) => l.startsWith('| permission'));
    assert.deepEqual(
      header
        ?.split('|')
        .map((c) => c.trim())
        .filter(Boolean)
        .slice(1),
      [...ROLES],
    );
    const documented = new Map(
      lines.map((line) => {
        const cells = line.split('|').slice(1, -1);
        const permission = cells[0]?.trim().replace(/`/g, '') ?? '';
        const granted = ROLES.filter((_, i) => cells[i + 1]?.trim() === '✓');
        return [permission, granted];
      }),
    );
    assert.deepEqual([...documented.keys()], [...PERMISSIONS]);
    for (const p of PERMISSIONS) {
      assert.deepEqual(
        documented.get(p),
        ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(p)),
        `row ${p}`,
      );
    }
  });
});
