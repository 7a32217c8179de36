import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Actor, ManualClock, RiposteError } from '../core/index.ts';
import { loadAttackCatalog } from '../intel/index.ts';
import { type TestStore, tamperRow, testBackends } from '../store/testing.ts';
import { adaptPayload } from './adapters/index.ts';
import type { AlertSource } from './model.ts';
import { CasesService } from './service.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const analyst: Actor = { kind: 'user', id: 'u-1', name: 'alice', roles: ['analyst'] };
const catalog = loadAttackCatalog();

for (const backend of testBackends()) {
  describe(`cases service (${backend.backend})`, () => {
    let t: TestStore;
    let clock: ManualClock;
    let cases: CasesService;
    const ingest = async (source: AlertSource, payload: unknown, actor?: Actor) => cases.ingest(adaptPayload(source, payload, clock.now()), { actor });

    before(async () => {
      clock = new ManualClock(Date.UTC(2026, 10, 28, 2, 0));
      t = await backend.open({ clock });
      cases = new CasesService({ store: t.store, clock, techniqueExists: catalog.techniqueExists });
    });
    after(async () => {
      await t.dispose();
    });

    test('each vendor sample opens a case with its observables; the same alert again is a repeat', async () => {
      const expectations: Array<[AlertSource, string, string[]]> = [
        ['splunk', 'splunk-es-notable.json', ['ipv4:185.220.101.47', 'ipv4:10.20.30.40', 'user:corp\\jdoe', 'hostname:ws-0042.corp.example.com']],
        ['elastic', 'elastic-detection-alert.json', ['hostname:ws-0042', 'user:jdoe', 'ipv4:45.153.160.2', 'url:http://update-check.example-cdn.net/a.ps1']],
        [
          'sentinel',
          'sentinel-incident.json',
          ['email:alice@contoso.com', 'ipv4:193.42.33.7', 'hostname:laptop-7qx2.contoso.com', 'url:https://contoso-helpdesk.example/reset?u=alice'],
        ],
        ['generic', 'generic-alert.json', ['email:bob@example.org', 'ipv4:198.51.100.23', 'ipv6:2001:db8:85a3::8a2e:370:7334']],
      ];
      for (const [source, file, observables] of expectations) {
        const [first] = await ingest(source, fixture(file));
        assert.ok(first);
        assert.equal(first.outcome, 'new_case', source);
        assert.ok(first.case_number > 0);
        const view = await cases.getCase(first.case_id);
        assert.equal(view.source, source);
        assert.equal(view.alert_count, 1);
        const found = (await cases.observablesOf(first.case_id)).map((o) => `${o.type}:${o.value}`);
        for (const o of observables) assert.ok(found.includes(o), `${source}: expected ${o} in ${found.join(', ')}`);
        const [again] = await ingest(source, fixture(file));
        assert.equal(again?.outcome, 'repeat');
        assert.equal(again?.alert_id, first.alert_id);
        assert.equal(again?.case_id, first.case_id);
        assert.equal((await cases.getCase(first.case_id)).alert_count, 1, 'a repeat does not count as another alert');
      }
      const elastic = (await cases.listCases({ q: 'PowerShell' })).items[0];
      assert.deepEqual(elastic?.techniques, ['T1059', 'T1059.001']);
      assert.equal(elastic?.severity, 'high');
      const sentinel = (await cases.listCases({ q: 'mailbox rule' })).items[0];
      assert.deepEqual(sentinel?.techniques, ['T1110', 'T1110.003', 'T1114', 'T1114.003']);
    });

    test('same rule + same observable within the window joins the open case; later or after closing opens a new one', async () => {
      const alert = (id: string, ip: string, rule = 'Brute force') => ({
        title: `Brute force from ${ip}`,
        severity: 'low',
        id,
        rule: { name: rule },
        observables: [{ type: 'ipv4', value: ip }],
      });
      const [a] = await ingest('generic', alert('bf-1', '203.0.113.50'));
      clock.advance(3_600_000);
      const [b] = await ingest('generic', { ...alert('bf-2', '203.0.113.50'), severity: 'high' });
      assert.equal(b?.outcome, 'joined_case');
      assert.equal(b?.case_id, a?.case_id);
      const joined = await cases.getCase(a?.case_id as string);
      assert.equal(joined.alert_count, 2);
      assert.equal(joined.severity, 'high', 'a more severe alert raises the case severity');
      const [other] = await ingest('generic', alert('bf-3', '203.0.113.50', 'Different rule'));
      assert.equal(other?.outcome, 'new_case', 'a different rule does not join');
      clock.advance(25 * 3_600_000);
      const [late] = await ingest('generic', alert('bf-4', '203.0.113.50'));
      assert.equal(late?.outcome, 'new_case', 'outside the 24 h window');
      await cases.closeCase(late?.case_id as string, { resolution: 'false_positive' }, analyst);
      const [afterClose] = await ingest('generic', alert('bf-5', '203.0.113.50'));
      assert.equal(afterClose?.outcome, 'new_case', 'a closed case attracts no new alerts');
      const batch = await cases.ingest(adaptPayload('generic', [alert('bf-6', '198.18.0.9'), alert('bf-7', '198.18.0.9')], clock.now()));
      assert.equal(batch[0]?.outcome, 'new_case');
      assert.equal(batch[1]?.outcome, 'joined_case', 'alerts correlate within one batch too');
      const ip = await cases.findObservable('ipv4', '203.0.113.50');
      assert.equal(ip.sightings, 5);
      assert.equal(ip.cases.length, 4, 'one observable row, linked to every case it appears in');
    });

    test('concurrent submissions are group-committed and none is lost', async () => {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          ingest('generic', { title: `scan ${i}`, id: `scan-${i}`, rule: { name: 'Port scan' }, observables: [{ type: 'ipv4', value: `192.0.2.${i % 3}` }] }),
        ),
      );
      const outcomes = results.flat();
      assert.equal(outcomes.length, 60);
      assert.equal(new Set(outcomes.map((r) => r.case_id)).size, 3, 'three source IPs, three cases');
      assert.equal(outcomes.filter((r) => r.outcome === 'new_case').length, 3);
    });

    test('a full intake queue answers 429 with a retry hint instead of dropping', async () => {
      const small = new CasesService({ store: t.store, clock, intakeMaxQueue: 5 });
      const alerts = adaptPayload(
        'generic',
        Array.from({ length: 6 }, (_, i) => ({ title: `x${i}`, id: `q-${i}` })),
        clock.now(),
      );
      await assert.rejects(small.ingest(alerts), (error: unknown) => {
        assert.ok(error instanceof RiposteError);
        assert.equal(error.status, 429);
        assert.equal(error.code, 'alerts.overloaded');
        assert.equal(error.details?.retry_after_seconds, 1);
        return true;
      });
      assert.equal((await small.ingest(alerts.slice(0, 5))).length, 5, 'within the bound, everything is stored');
    });

    test('a delivery id is accepted once; the replay is refused and stores nothing', async () => {
      const alerts = adaptPayload('generic', { title: 'signed', id: 'signed-1' }, clock.now());
      const delivery = { source: 'generic', id: 'd-123', expiresAt: clock.now() + 300_000 };
      await cases.ingest(alerts, { delivery });
      await assert.rejects(cases.ingest(adaptPayload('generic', { title: 'signed again', id: 'signed-2' }, clock.now()), { delivery }), /already received/);
      assert.equal(await cases.deliverySeen('generic', 'd-123'), true);
      assert.equal((await cases.listCases({ q: 'signed again' })).items.length, 0);
    });

    test('cases: create, validate, update status and SLA, assign, tasks, comments, evidence, close, timeline, metrics', async () => {
      await assert.rejects(
        cases.createCase({ title: 'x', techniques: ['T1059.001', 'T9999'] }),
        /techniques\[1\] T9999 is not in the ATT&CK Enterprise catalog/,
      );
      await assert.rejects(cases.createCase({ title: 'x', severity: 'severe' as never }), /severity must be one of informational, low, medium, high, critical/);
      await assert.rejects(cases.createCase({ title: ' ' }), /title is required/);
      const created = await cases.createCase(
        {
          title: 'Ransomware note on FS-01',
          description: 'Encrypted shares',
          severity: 'critical',
          tags: ['ransomware'],
          techniques: ['t1486'],
          tlp: 'amber+strict',
          observables: [{ type: 'hostname', value: 'FS-01' }],
        },
        analyst,
      );
      assert.equal(created.status, 'new');
      assert.deepEqual(created.techniques, ['T1486']);
      assert.equal(created.sla.acknowledge.state, 'running');
      assert.equal(created.sla.acknowledge.due_at, new Date(clock.now() + 15 * 60_000).toISOString());
      clock.advance(20 * 60_000);
      assert.equal((await cases.getCase(created.id)).sla.acknowledge.state, 'breached');
      const assigned = await cases.assignCase(String(created.number), 'bob', analyst);
      assert.equal(assigned.assignee, 'bob');
      assert.equal(assigned.acknowledged_at, new Date(clock.now()).toISOString());
      clock.advance(60 * 60_000);
      const contained = await cases.updateCase(created.id, { status: 'contained', phase: 'containment_eradication_recovery' }, analyst);
      assert.equal(contained.sla.contain.state, 'met');
      const task = await cases.addTask(created.id, { title: 'Isolate FS-01' }, analyst);
      const done = await cases.updateTask(created.id, task.id, { status: 'done' }, analyst);
      assert.equal(done.status, 'done');
      assert.ok(done.completed_at);
      await cases.addComment(created.id, { body: '**Backups** verified' }, analyst);
      const content = new TextEncoder().encode('ransom note text');
      const evidence = await cases.addEvidence(created.id, { name: 'README.txt', contentType: 'text/plain', content }, analyst);
      assert.equal(evidence.sha256, createHash('sha256').update('ransom note text').digest('hex'));
      assert.equal(evidence.size, content.byteLength);
      const back = await cases.getEvidence(created.id, evidence.id);
      assert.deepEqual(Buffer.from(back.content).toString(), 'ransom note text');
      const tiny = new CasesService({ store: t.store, clock, evidenceMaxBytes: 4 });
      await assert.rejects(tiny.addEvidence(created.id, { name: 'big.bin', content }), (e: unknown) => e instanceof RiposteError && e.status === 413);
      await cases.linkRun(created.id, 'run-42', analyst);
      await cases.appendTimeline(created.id, { kind: 'run.step', summary: 'Blocked 203.0.113.5 on the firewall', minutes_saved: 12.5 });
      clock.advance(60 * 60_000);
      const closed = await cases.closeCase(created.id, { resolution: 'true_positive', summary: 'Restored from backup' }, analyst);
      assert.equal(closed.status, 'closed');
      assert.equal(closed.phase, 'post_incident');
      assert.equal(closed.minutes_saved, 12.5);
      assert.ok(closed.resolved_at && closed.closed_at);
      const kinds = (await cases.timeline(created.id)).items.map((e) => e.kind);
      assert.deepEqual(kinds, [
        'case.created',
        'case.assigned',
        'case.updated',
        'task.created',
        'task.updated',
        'comment',
        'evidence.added',
        'run.linked',
        'run.step',
        'case.closed',
        'comment',
      ]);
      const metrics = await cases.caseMetrics(created.id);
      assert.equal(metrics.time_to_acknowledge_ms, 20 * 60_000);
      assert.equal(metrics.time_to_contain_ms, 80 * 60_000);
      assert.equal(metrics.time_to_resolve_ms, 140 * 60_000);
      const overall = await cases.metrics({ since: clock.now() - 3 * 3_600_000 });
      assert.ok(overall.cases >= 1);
      assert.equal(overall.analyst_minutes_saved, 12.5);
      const reopened = await cases.updateCase(created.id, { status: 'in_progress' }, analyst);
      assert.equal(reopened.closed_at, null);
      assert.equal(reopened.resolution, null);
    });

    test('list: filters, full-text search and cursor pagination', async () => {
      for (let i = 0; i < 7; i++) {
        await cases.createCase(
          {
            title: `Phishing wave ${i}`,
            description: 'Credential harvesting kit',
            severity: i % 2 ? 'low' : 'high',
            tags: i < 3 ? ['phish'] : [],
            techniques: ['T1566.002'],
          },
          analyst,
        );
      }
      const all = await cases.listCases({ q: 'phishing', limit: 3 });
      assert.equal(all.items.length, 3);
      assert.ok(all.next_cursor);
      const second = await cases.listCases({ q: 'phishing', limit: 3, cursor: all.next_cursor as string });
      const third = await cases.listCases({ q: 'phishing', limit: 3, cursor: second.next_cursor as string });
      assert.equal(third.items.length, 1);
      assert.equal(third.next_cursor, null);
      const titles = [...all.items, ...second.items, ...third.items].map((c) => c.title);
      assert.deepEqual(
        titles,
        Array.from({ length: 7 }, (_, i) => `Phishing wave ${6 - i}`),
        'newest first, no gaps or repeats',
      );
      assert.equal((await cases.listCases({ q: 'harvest' })).items.length, 7, 'prefix of the last word matches');
      assert.equal((await cases.listCases({ q: 'phishing', severity: ['high'] })).items.length, 4);
      assert.equal((await cases.listCases({ tag: 'phish' })).items.length, 3);
      assert.equal((await cases.listCases({ technique: 't1566.002' })).items.length, 7);
      assert.equal((await cases.listCases({ q: '"unbalanced (query' })).items.length, 0, 'odd input is not a syntax error');
      await assert.rejects(cases.listCases({ status: ['open'] }), /status\[0\] must be one of new, acknowledged/);
      await assert.rejects(cases.listCases({ cursor: 'bogus' }), /cursor is not one this server issued/);
    });

    test('observables: prefix search pages in value order, exact lookup normalises first', async () => {
      const c = await cases.createCase({
        title: 'prefix',
        observables: ['zz-c.example', 'zz-a.example', 'zz-b.example'].map((value) => ({ type: 'domain', value })),
      });
      const first = await cases.searchObservables({ prefix: 'zz-', limit: 2 });
      assert.deepEqual(
        first.items.map((o) => o.value),
        ['zz-a.example', 'zz-b.example'],
      );
      const second = await cases.searchObservables({ prefix: 'zz-', limit: 2, cursor: first.next_cursor as string });
      assert.deepEqual(
        second.items.map((o) => o.value),
        ['zz-c.example'],
      );
      assert.equal(second.next_cursor, null);
      await assert.rejects(cases.searchObservables({ cursor: first.next_cursor as string }), /different kind of observable listing/);
      const found = await cases.findObservable('domain', 'ZZ-A[.]example');
      assert.equal(found.cases[0]?.case_id, c.id);
    });

    test('the audit chain verifies, and changing any stored field names the record', async () => {
      const ok = await cases.verifyAudit();
      assert.equal(ok.ok, true);
      assert.ok(ok.records > 20);
      const exported = [];
      for await (const record of cases.exportAudit()) exported.push(record);
      assert.equal(exported.length, ok.records);
      assert.equal(exported[1]?.prev_hash, exported[0]?.hash);
      const victim = exported[7];
      assert.ok(victim);
      assert.equal(await tamperRow(t, { table: 'audit_log', keyColumn: 'seq', key: victim.seq, column: 'action', value: 'case.viewed' }), 1);
      const broken = await cases.verifyAudit();
      assert.equal(broken.ok, false);
      assert.equal(broken.broken?.seq, victim.seq);
      assert.match(broken.broken?.reason ?? '', /hash does not match its contents/);
      await tamperRow(t, { table: 'audit_log', keyColumn: 'seq', key: victim.seq, column: 'action', value: victim.action });
      assert.equal((await cases.verifyAudit()).ok, true, 'restoring the field restores the chain');
      await tamperRow(t, { table: 'audit_log', keyColumn: 'seq', key: 3, column: 'details', value: '{"forged":true}' });
      assert.equal((await cases.verifyAudit()).broken?.seq, 3);
    });
  });
}

describe('alert intake fallbacks', () => {
  test('a failing batch is retried request by request: only the bad one fails', async () => {
    const { AlertIntake } = await import('./intake.ts');
    const seen: number[] = [];
    const intake = new AlertIntake<string>({
      maxQueue: 100,
      batchSize: 10,
      process: async (requests) => {
        seen.push(requests.length);
        if (requests.some((r) => r.alerts[0]?.title === 'poison')) throw new Error('poisoned batch');
        return requests.map((r) => `stored ${r.alerts[0]?.title}`);
      },
    });
    const request = (title: string) => ({ alerts: [{ title } as never], actor: { kind: 'system' as const, id: 's', name: 's' }, delivery: undefined });
    const outcomes = await Promise.allSettled([intake.submit(request('a')), intake.submit(request('poison')), intake.submit(request('b'))]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      ['stored a', 'poisoned batch', 'stored b'],
    );
    assert.deepEqual(seen, [3, 1, 1, 1], 'one group commit, then one retry per request');
  });
});
