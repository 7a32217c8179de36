import { performance } from 'node:perf_hooks';
import { adaptPayload, CasesService, type NormalizedAlert } from '../src/cases/index.ts';
import { newId } from '../src/core/index.ts';
import { loadAttackCatalog } from '../src/intel/index.ts';
import type { CaseRecord, ObservableRecord, Store } from '../src/store/index.ts';
import { benchStores, emit, note, percentile } from './harness.ts';

/**
 * Cases suite.
 * 1. Alert ingest with dedup and correlation through the service's group-commit intake: many concurrent
 *    senders (as webhooks arrive), a share of exact repeats and of alerts that correlate into open cases.
 * 2. Case list/search and observable lookups with a large store bulk-loaded (default 1,000,000 cases and
 *    5,000,000 observables, as the issue asks); p50/p95 per query shape.
 * Sizes: RIPOSTE_BENCH_SENDERS (concurrent webhook senders, default 256), RIPOSTE_BENCH_ALERTS, RIPOSTE_BENCH_CASES, RIPOSTE_BENCH_OBSERVABLES, RIPOSTE_BENCH_QUERIES.
 */
const ALERTS = Number(process.env.RIPOSTE_BENCH_ALERTS ?? 30_000);
const CASES = Number(process.env.RIPOSTE_BENCH_CASES ?? 1_000_000);
const OBSERVABLES = Number(process.env.RIPOSTE_BENCH_OBSERVABLES ?? 5_000_000);
const QUERIES = Number(process.env.RIPOSTE_BENCH_QUERIES ?? 200);
/** Bulk-loaded addresses start past the ingest phase's pool so the two never collide. */
const BULK_IP_OFFSET = 1_000_000;
const SENDERS = Number(process.env.RIPOSTE_BENCH_SENDERS ?? 256);

const WORDS = (
  'beacon lateral phishing ransomware credential dump brute force exfiltration powershell macro dropper loader cobalt strike mimikatz ' +
  'kerberoast persistence registry scheduled task service wmi psexec rdp vpn anomaly impossible travel mfa fatigue token theft oauth consent ' +
  'dns tunnel c2 callback tor proxy webshell sql injection deserialization privilege escalation sudo kernel exploit driver signed unsigned ' +
  'archive encrypted upload cloud storage bucket public exposure firewall deny allow scan sweep enumeration ldap smb share spray lockout'
).split(' ');

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function ipFor(i: number): string {
  const n = (0x0b000000 + i * 7) >>> 0; // 11.0.0.0 upward: never a reserved range collision with tests
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

async function ingestBench(store: Store, backend: string): Promise<void> {
  const cases = new CasesService({ store });
  const random = rng(42);
  const rules = Array.from({ length: 40 }, (_, i) => `Detection rule ${i}`);
  // ~20% exact repeats of an earlier alert; the rest draw source IPs from a pool so many correlate.
  const payloads = Array.from({ length: ALERTS }, (_, i) => {
    const repeat = i > 100 && random() < 0.2;
    const id = repeat ? `a-${Math.floor(random() * i)}` : `a-${i}`;
    const seq = Number(id.slice(2));
    return {
      title: `${WORDS[seq % WORDS.length]} detected on host-${seq % 500}`,
      severity: ['low', 'medium', 'high', 'critical'][seq % 4],
      id,
      rule: { name: rules[seq % rules.length] },
      observables: [
        { type: 'ipv4', value: ipFor(seq % 3000) },
        { type: 'hostname', value: `host-${seq % 500}.corp.example` },
        { type: 'user', value: `user${seq % 800}` },
      ],
    };
  });
  const alerts: NormalizedAlert[] = payloads.map((p) => adaptPayload('generic', p, Date.now())[0] as NormalizedAlert);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  let next = 0;
  let repeats = 0;
  let joined = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < alerts.length) {
        const alert = alerts[next++] as NormalizedAlert;
        const t0 = performance.now();
        for (;;) {
          try {
            const [result] = await cases.ingest([alert]);
            if (result?.outcome === 'repeat') repeats++;
            if (result?.outcome === 'joined_case') joined++;
            break;
          } catch (error) {
            if ((error as { status?: number }).status !== 429) throw error;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const extra = { backend, senders: SENDERS, repeats, joined, opened: ALERTS - repeats - joined };
  emit({ suite: 'cases', metric: 'alert_ingest_per_s', value: ALERTS / seconds, unit: '1/s', n: ALERTS, ...extra } as never);
  // On a shared machine wall-clock throughput depends on the neighbours; alerts per CPU-second of this
  // process (SQLite runs in-process) says what one free core would sustain.
  emit({ suite: 'cases', metric: 'alert_ingest_per_cpu_s', value: ALERTS / cpuSeconds, unit: '1/s', n: ALERTS, ...extra } as never);
  emit({ suite: 'cases', metric: 'alert_ingest_p99_ms', value: percentile(latencies, 99), unit: 'ms', n: ALERTS, ...extra } as never);
  emit({ suite: 'cases', metric: 'alert_ingest_p50_ms', value: percentile(latencies, 50), unit: 'ms', n: ALERTS, ...extra } as never);
  const verified = await cases.verifyAudit();
  note(`cases: ${backend} ingest done; audit chain ${verified.ok ? 'intact' : 'BROKEN'} with ${verified.records} records`);
}

async function bulkLoad(store: Store, backend: string): Promise<{ techniques: string[] }> {
  const random = rng(7);
  const techniques = ['T1059.001', 'T1566.001', 'T1078', 'T1110.003', 'T1021.002', 'T1486', 'T1547.001', 'T1071.001', 'T1003.001', 'T1053.005'];
  const statuses = ['new', 'new', 'acknowledged', 'in_progress', 'in_progress', 'contained', 'resolved', 'closed', 'closed', 'closed'];
  const severities = ['informational', 'low', 'low', 'medium', 'medium', 'medium', 'high', 'high', 'critical', 'medium'];
  const phases = ['detection_analysis', 'detection_analysis', 'containment_eradication_recovery', 'post_incident'];
  const CHUNK = 20_000;
  const perCase = Math.max(1, Math.round(OBSERVABLES / CASES));
  const start = performance.now();
  const base = Date.now() - CASES * 1000;
  const firstNumber = await store.transaction((tx) => tx.cases.reserveNumbers(CASES));
  let observableIndex = 0;
  for (let offset = 0; offset < CASES; offset += CHUNK) {
    const caseRows: CaseRecord[] = [];
    const observableRows: ObservableRecord[] = [];
    const links: Array<{ caseId: string; observableId: string; at: number; sightings: number }> = [];
    for (let i = offset; i < Math.min(CASES, offset + CHUNK); i++) {
      const at = base + i * 1000;
      const id = newId(at);
      const words = Array.from({ length: 8 }, () => WORDS[Math.floor(random() * WORDS.length)]);
      const status = statuses[i % statuses.length] as string;
      caseRows.push({
        id,
        number: firstNumber + i,
        title: `${words[0]} ${words[1]} on host-${i % 20_000}`,
        description: `${words.slice(2).join(' ')} seen by rule ${i % 300}`,
        severity: severities[(i * 7) % severities.length] as string,
        status,
        phase: phases[i % phases.length] as string,
        tlp: 'amber',
        pap: 'amber',
        assignee: i % 3 === 0 ? null : `analyst${i % 50}`,
        tags: [`tag${i % 100}`, ...(i % 7 === 0 ? ['vip'] : [])],
        techniques: [techniques[i % techniques.length] as string],
        source: 'bench',
        resolution: status === 'closed' ? 'true_positive' : null,
        alertCount: 1 + (i % 5),
        minutesSaved: i % 11,
        createdAt: at,
        updatedAt: at,
        acknowledgedAt: status === 'new' ? null : at + 600_000,
        containedAt: ['contained', 'resolved', 'closed'].includes(status) ? at + 3_600_000 : null,
        resolvedAt: ['resolved', 'closed'].includes(status) ? at + 7_200_000 : null,
        closedAt: status === 'closed' ? at + 7_300_000 : null,
        acknowledgeDueAt: at + 3_600_000,
        containDueAt: at + 86_400_000,
        resolveDueAt: at + 604_800_000,
      });
      for (let k = 0; k < perCase && observableIndex < OBSERVABLES; k++, observableIndex++) {
        const o = observableIndex;
        const type = o % 2 === 0 ? 'ipv4' : 'domain';
        const value = type === 'ipv4' ? ipFor(BULK_IP_OFFSET + o) : `d${o}.bench-${o % 1000}.example`;
        const observableId = newId(at);
        observableRows.push({
          id: observableId,
          type,
          value,
          firstSeenAt: at,
          lastSeenAt: at,
          sightings: 1,
          verdict: null,
          confidence: null,
          enrichment: {},
          enrichedAt: null,
        });
        links.push({ caseId: id, observableId, at, sightings: 1 });
      }
    }
    await store.transaction(async (tx) => {
      await tx.cases.bulkInsert({ cases: caseRows });
      await tx.observables.bulkInsert({ observables: observableRows, links });
    });
    if ((offset / CHUNK) % 10 === 0) note(`cases: ${backend} loaded ${offset + caseRows.length} cases, ${observableIndex} observables`);
  }
  const seconds = (performance.now() - start) / 1000;
  emit({
    suite: 'cases',
    metric: 'bulk_load_rows_per_s',
    value: (CASES * 3 + observableIndex * 2) / seconds,
    unit: '1/s',
    n: CASES,
    backend: backend as never,
    observables: observableIndex,
  });
  note(`cases: ${backend} bulk load took ${seconds.toFixed(0)} s`);
  return { techniques };
}

async function queryBench(store: Store, backend: string, techniques: string[]): Promise<void> {
  const catalog = loadAttackCatalog();
  const cases = new CasesService({ store, techniqueExists: catalog.techniqueExists });
  const random = rng(99);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  const deepCursor = Buffer.from(newId(Date.now() - Math.floor(CASES / 2) * 1000)).toString('base64url');
  const shapes: Array<[string, () => Promise<unknown>]> = [
    ['list_newest', () => cases.listCases({ limit: 50 })],
    ['list_status', () => cases.listCases({ status: [pick(['new', 'in_progress', 'contained'])], limit: 50 })],
    ['list_status_severity', () => cases.listCases({ status: ['new', 'in_progress'], severity: [pick(['critical', 'high'])], limit: 50 })],
    ['list_assignee', () => cases.listCases({ assignee: `analyst${Math.floor(random() * 50)}`, limit: 50 })],
    ['list_tag', () => cases.listCases({ tag: `tag${Math.floor(random() * 100)}`, limit: 50 })],
    ['list_technique', () => cases.listCases({ technique: pick(techniques), limit: 50 })],
    ['list_deep_cursor', () => cases.listCases({ cursor: deepCursor, status: ['new'], limit: 50 })],
    ['search_one_word', () => cases.listCases({ q: pick(WORDS), limit: 50 })],
    ['search_two_words', () => cases.listCases({ q: `${pick(WORDS)} ${pick(WORDS)}`, limit: 50 })],
    ['search_host', () => cases.listCases({ q: `host-${Math.floor(random() * 20_000)}`, limit: 50 })],
    ['search_with_filter', () => cases.listCases({ q: pick(WORDS), status: ['new'], limit: 50 })],
    ['observable_lookup', () => cases.findObservable('ipv4', ipFor(BULK_IP_OFFSET + Math.floor(random() * (OBSERVABLES / 2)) * 2))],
    ['observable_prefix', () => cases.searchObservables({ prefix: `d${Math.floor(random() * 1000)}`, limit: 50 })],
  ];
  const all: number[] = [];
  for (const [name, query] of shapes) {
    await query(); // warm the cache for this shape
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t0 = performance.now();
      await query();
      samples.push(performance.now() - t0);
    }
    all.push(...samples);
    emit({
      suite: 'cases',
      metric: `${name}_p95_ms`,
      value: percentile(samples, 95),
      unit: 'ms',
      n: QUERIES,
      backend: backend as never,
      cases: CASES,
      observables: OBSERVABLES,
      p50: Math.round(percentile(samples, 50) * 100) / 100,
    });
  }
  emit({
    suite: 'cases',
    metric: 'search_and_list_p95_ms',
    value: percentile(all, 95),
    unit: 'ms',
    n: all.length,
    backend: backend as never,
    cases: CASES,
    observables: OBSERVABLES,
  });
}

export async function run(): Promise<void> {
  const skip = new Set((process.env.RIPOSTE_BENCH_SKIP ?? '').split(',').filter(Boolean));
  for (const open of await benchStores()) {
    const { store, backend, dispose } = await open();
    try {
      note(`cases: ${backend} ${store.location}`);
      if (!skip.has('ingest')) await ingestBench(store, backend);
      if (!skip.has('search')) {
        const { techniques } = await bulkLoad(store, backend);
        await queryBench(store, backend, techniques);
      }
    } finally {
      await dispose();
    }
  }
}
