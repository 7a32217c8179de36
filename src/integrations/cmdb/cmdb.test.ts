import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import { createIntegrationInstance } from '../sdk/index.ts';
import cmdb, { parseCsv } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'riposte-cmdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lookup = (file: string | undefined, value: string) =>
  createIntegrationInstance(cmdb, { name: 'cmdb', config: file ? { file } : {}, secrets: {} }).run('lookup', { value }, { idempotencyKey: 'k' }) as Promise<{
    found: boolean;
    owner: string | null;
    criticality: string | null;
    asset: { name: string } | null;
  }>;

describe('cmdb asset lists', () => {
  test('CSV: the most specific entry wins, hosts match by name, quoted fields keep commas', async () => {
    const file = join(dir, 'assets.csv');
    writeFileSync(
      file,
      'name,ip,hostname,owner,criticality,environment\n' +
        'DMZ,198.51.100.0/24,,"Network, Team",medium,prod\n' +
        'Payments DB,198.51.100.20,pay-db01.corp.example,Payments,critical,prod\n' +
        'Kiosk,,kiosk7.corp.example,Facilities,low,\n',
    );
    const db = await lookup(file, '198.51.100.20');
    assert.equal(db.asset?.name, 'Payments DB');
    assert.equal(db.criticality, 'critical');
    assert.equal((await lookup(file, '198.51.100.77')).owner, 'Network, Team');
    assert.equal((await lookup(file, 'KIOSK7.corp.example')).criticality, 'low');
    assert.equal((await lookup(file, '203.0.113.1')).found, false);
  });

  test('JSON lists, and a changed file is re-read', async () => {
    const file = join(dir, 'assets.json');
    writeFileSync(file, JSON.stringify([{ name: 'VPN', ip: '195.12.50.17', owner: 'IT', criticality: 'high' }]));
    assert.equal((await lookup(file, '195.12.50.17')).criticality, 'high');
    writeFileSync(file, JSON.stringify({ assets: [{ name: 'VPN', ip: '195.12.50.17', owner: 'Security', criticality: 'critical' }] }));
    const { utimesSync } = await import('node:fs');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal((await lookup(file, '195.12.50.17')).owner, 'Security');
  });

  test('bad files and missing configuration are clear errors', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'name,ip,criticality\nX,10.0.0.1,extreme\n');
    await assert.rejects(lookup(bad, '10.0.0.1'), /record 1: criticality "extreme"/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{not json');
    await assert.rejects(lookup(broken, '10.0.0.1'), (e: unknown) => e instanceof RiposteError && e.code === 'integration.bad_response');
    await assert.rejects(lookup(join(dir, 'missing.csv'), '10.0.0.1'), (e: unknown) => e instanceof RiposteError && e.code === 'integration.unavailable');
    await assert.rejects(lookup(undefined, '10.0.0.1'), (e: unknown) => e instanceof RiposteError && e.code === 'integration.not_configured');
  });

  test('CSV reader handles quotes, doubled quotes and CRLF', () => {
    assert.deepEqual(parseCsv('a,"b,c","d ""e"""\r\n1,2,3\r\n'), [
      ['a', 'b,c', 'd "e"'],
      ['1', '2', '3'],
    ]);
  });
});
