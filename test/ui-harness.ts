import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { analyzeReport, DEFAULT_EMAIL_LIMITS } from '../src/analyzers/email/index.ts';
import { openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import type { Role } from '../src/auth/index.ts';
import { adaptPayload } from '../src/cases/index.ts';
import { reportLine } from '../src/cli/commands/phish.ts';
import { RUN_KEY_RULE } from '../src/cli/demo/hunt-scenario.ts';
import { CAMPAIGN_FILE, phishingScenario } from '../src/cli/demo/phishing-scenario.ts';
import { type DemoFleet, type DemoMail, demoPhishing, labInstances, startDemoFleet, startDemoMail, writeDemoCmdb } from '../src/cli/demo/world.ts';
import { type Config, createLogger, loadConfig, newId } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import { INTEGRATIONS } from '../src/integrations/catalog.ts';
import { type Lab, type LlmSimulator, SIMULATOR_API_KEY, SIMULATOR_LLM_MODEL, startLab, startLlmSimulator } from '../src/lab/index.ts';
import type { CaseRecord, Store } from '../src/store/index.ts';
import type { TestBackend, TestStore } from '../src/store/testing.ts';

/**
 * Browser-test and screenshot support: a real Riposte (runtime, runner, HTTP server serving the built UI)
 * on a test store, with the threat-intel simulators from the lab, a two-person policy on blocking, and
 * users of every role with known passwords. `seedScenario` plays the suspicious-IP job: enrich an IP from
 * six sources, reach a verdict, and hold the block for two approvers.
 */
export const PASSWORD = 'correct horse battery staple';
export const USERS: ReadonlyArray<readonly [string, Role[]]> = [
  ['admin', ['admin']],
  ['alice', ['analyst']],
  ['bob', ['approver']],
  ['carol', ['approver']],
  ['vic', ['viewer']],
];

const POLICY = `
id: ui-guardrails
version: 1
defaults:
  approval: { approvers: 2, roles: [approver, admin], expires: 4h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: low-confidence
    impact: [destructive]
    when: { field: indicator.confidence, lt: 50 }
    decision: deny
    reason: "indicator confidence {indicator.confidence} is below 50: annotate only"
  - id: two-person
    actions: ["lab.*"]
    impact: [destructive]
    when: { field: indicator.confidence, gte: 50 }
    decision: require_approval
    approval: { approvers: 2, expires: 4h }
    reason: "blocking {action.arguments.ip} needs two people"
  # The phishing world: containing a campaign takes two people; the triage's bookkeeping runs.
  - id: campaign-containment
    actions: ["msgraph_mail.purge_messages", "phishing.block_indicators"]
    impact: [destructive]
    decision: require_approval
    approval: { approvers: 2, expires: 1h }
    reason: blocking or purging a campaign needs two people
  - id: phishing-bookkeeping
    actions: ["email.send_email", "phishing.*"]
    impact: [write]
    decision: allow
    reason: telling the reporter and recording on the case change nothing outside Riposte
  # The hunt world: ordinary hosts are remediated wave by wave; a critical server needs two people.
  - id: hunt-wave
    actions: ["hunt.remediate_wave"]
    impact: [destructive]
    when: { not: { any_target: { field: target.asset.criticality, eq: critical } } }
    decision: allow
    reason: a hunt hit on ordinary hosts is remediated in waves, each verified by re-query
  - id: critical-hunt-wave
    actions: ["hunt.remediate_wave"]
    impact: [destructive]
    when: { any_target: { field: target.asset.criticality, eq: critical } }
    decision: require_approval
    approval: { approvers: 2, expires: 4h }
    reason: "{target.value} is a critical asset ({target.asset.name}, owner {target.asset.owner}): two people approve changing it"
`;

/** The suspicious-IP job end to end: six sources, a verdict, a block held by policy, a record. */
const CONTAIN_PLAYBOOK = `
id: contain-ip
version: 1
title: Enrich a suspicious IP and block it after two approvals
description: Six threat-intel lookups in parallel, an explainable verdict, then a firewall block that policy holds for two people.
trigger:
  manual: true
inputs:
  ip: { type: ip, description: The IP address from the alert }
outputs:
  verdict: "{{ steps.verdict.output.verdict }}"
  confidence: "{{ steps.verdict.output.confidence }}"
steps:
  - id: intel
    title: Threat-intel lookups
    parallel:
      - { id: virustotal, action: virustotal.ip_report, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
      - { id: abuseipdb, action: abuseipdb.check, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
      - { id: greynoise, action: greynoise.community, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
      - { id: otx, action: otx.ip_general, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
      - { id: shodan, action: shodan.host, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
      - { id: ipinfo, action: ipinfo.ip_details, with: { ip: "{{ inputs.ip }}" }, timeout: 10s, on_error: continue }
  - id: verdict
    action: intel.verdict
    with:
      observable: "{{ inputs.ip }}"
      evidence: "{{ steps.intel.output }}"
      expected: [virustotal, abuseipdb, greynoise, otx, shodan, ipinfo]
  - id: block
    title: Block at the perimeter firewall
    when: "{{ steps.verdict.output.verdict == 'malicious' }}"
    action: lab.block_ip
    with: { ip: "{{ inputs.ip }}", ttl_hours: 24, confidence: "{{ steps.verdict.output.confidence }}", verdict: "{{ steps.verdict.output.verdict }}" }
  - id: record
    action: core.log
    with:
      message: "{{ inputs.ip | defang }} is {{ steps.verdict.output.verdict }} (confidence {{ steps.verdict.output.confidence }})"
`;

/** Loopback firewall: records what was blocked (the demo's stand-in for a firewall integration). */
export const blocked: string[] = [];
export const unblocked: string[] = [];
const blockIp = defineAction({
  id: 'lab.block_ip',
  title: 'Block an IP at the (loopback) firewall',
  impact: 'destructive',
  // Recorded as containment (the Containment page): undone by lab.unblock_ip, after a day at the latest.
  inverse: 'lab.unblock_ip',
  defaultTtl: '24h',
  input: z.object({ ip: z.string(), ttl_hours: z.number().optional(), confidence: z.number().optional(), verdict: z.string().optional() }),
  run(input) {
    blocked.push(input.ip);
    return { blocked: input.ip, ttl_hours: input.ttl_hours ?? 24 };
  },
});

const unblockIp = defineAction({
  id: 'lab.unblock_ip',
  title: 'Unblock an IP at the (loopback) firewall',
  impact: 'write',
  input: z.object({ ip: z.string() }).passthrough(),
  run(input) {
    unblocked.push(input.ip);
    return { unblocked: input.ip };
  },
});

export interface UiServer {
  url: string;
  runtime: Runtime;
  lab: Lab;
  /** The OpenAI-compatible simulator AI assistance talks to, when started with `{ ai: true }`. */
  llm?: LlmSimulator;
  /** The demo's endpoint fleet (Fleet/osquery simulator), when the server was started with `{ fleet: true }`. */
  fleet?: DemoFleet;
  /** The demo's mail (SMTP sink, Microsoft 365 tenant with the campaign), when started with `{ mail: true }`. */
  mail?: DemoMail;
  close(): Promise<void>;
}

/**
 * Parts of the demo's simulated enterprise a walk needs beyond the threat-intel lab: the 200-endpoint fleet
 * with its Run-key implants and the CMDB that marks the critical server (the hunt), or the mail tenant the
 * voicemail campaign landed in (phishing). Each brings the flagship playbook that works on it.
 */
export interface UiWorld {
  fleet?: boolean;
  mail?: boolean;
  /** Enable AI assistance (the `ai` config block) against the lab's keyless LLM simulator. */
  ai?: boolean;
}

export async function startUiServer(backend: TestBackend, world: UiWorld = {}): Promise<UiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-ui-'));
  const playbooks = join(dir, 'playbooks');
  mkdirSync(playbooks);
  const repoPlaybooks = join(import.meta.dirname, '..', 'playbooks');
  // Not ip-enrichment.yml: its alert trigger would start a second, competing run (and approval) for every
  // alert these tests ingest; the tests drive contain-ip themselves.
  const files = ['suspicious-ip.yml', ...(world.fleet ? ['registry-hunt.yml'] : []), ...(world.mail ? ['phishing-triage.yml'] : [])];
  for (const file of files) if (existsSync(join(repoPlaybooks, file))) copyFileSync(join(repoPlaybooks, file), join(playbooks, file));
  writeFileSync(join(playbooks, 'contain-ip.yml'), CONTAIN_PLAYBOOK);
  writeFileSync(join(dir, 'policy.yml'), POLICY);
  const lab = await startLab();
  let llm: LlmSimulator | undefined;
  let fleet: DemoFleet | undefined;
  let mail: DemoMail | undefined;
  let testStore: TestStore | undefined;
  const closeWorld = async () => {
    await llm?.close();
    await mail?.close();
    await fleet?.simulator.close();
    await lab.close();
  };
  try {
    if (world.ai) llm = await startLlmSimulator({ apiKey: null });
    if (world.fleet) fleet = await startDemoFleet(0);
    if (world.mail) mail = await startDemoMail(readFileSync(CAMPAIGN_FILE));
    testStore = await backend.open();
    await testStore.store.close();
    return await openUiRuntime(dir, playbooks, { lab, fleet, mail, llm, closeWorld }, testStore);
  } catch (error) {
    await closeWorld();
    await testStore?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The demo world's instances this server adds (never stored): the EDR fleet, mail, and the CMDB. */
const WORLD_INSTANCES = new Set(['fleet', 'email', 'msgraph_mail', 'cmdb']);

async function openUiRuntime(
  dir: string,
  playbooks: string,
  world: { lab: Lab; fleet: DemoFleet | undefined; mail: DemoMail | undefined; llm: LlmSimulator | undefined; closeWorld(): Promise<void> },
  testStore: TestStore,
): Promise<UiServer> {
  const { lab, fleet, mail, llm } = world;
  const loaded: Config = loadConfig({
    env: { ...testStore.env, RIPOSTE_DATA_DIR: dir },
    cwd: dir,
    overrides: {
      'log.level': 'silent',
      'server.host': '127.0.0.1',
      'server.port': 0,
      'engine.playbooks_dir': playbooks,
      'policy.file': join(dir, 'policy.yml'),
      'integrations.http_allow': ['127.0.0.1'],
      ...(llm ? { 'ai.enabled': true, 'ai.base_url': llm.url, 'ai.model': SIMULATOR_LLM_MODEL } : {}),
    },
  });
  const config: Config = mail ? { ...loaded, phishing: demoPhishing(loaded.phishing) } : loaded;
  const instances =
    fleet || mail ? labInstances(lab, writeDemoCmdb(join(dir, 'world'), fleet?.fleet), fleet, mail).filter((i) => WORLD_INSTANCES.has(i.name)) : [];
  // PostgreSQL deployments must be given the master key for integration secrets (SQLite would make one).
  const options = {
    env: { RIPOSTE_ADMIN_PASSWORD: PASSWORD, RIPOSTE_MASTER_KEY: randomBytes(32).toString('hex') },
    announce: () => {},
    actions: [blockIp, unblockIp],
    runner: { pollMs: 20 },
    instances,
  };
  // Instances are loaded when the runtime opens: configure them once, then open the runtime that serves.
  const setup = await openRuntime(config, createLogger({ level: 'silent' }), options);
  for (const integration of INTEGRATIONS) {
    const sim = lab.simulators[integration.id];
    if (!sim) continue;
    await setup.integrations.add({
      name: integration.id,
      integration: integration.id,
      config: { baseUrl: sim.url },
      secrets: Object.fromEntries(Object.keys(integration.secrets).map((name) => [name, SIMULATOR_API_KEY])),
    });
  }
  for (const [name, roles] of USERS) {
    if (name !== 'admin') await setup.auth.createUser({ name, roles, password: PASSWORD });
  }
  await setup.close();
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), options);
  const server: RunningServer = await startServer(runtime, { host: '127.0.0.1', port: 0 });
  return {
    url: server.url,
    runtime,
    lab,
    ...(llm ? { llm } : {}),
    ...(fleet ? { fleet } : {}),
    ...(mail ? { mail } : {}),
    async close() {
      await server.close();
      await world.closeWorld();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScenarioCase {
  caseId: string;
  caseNumber: number;
  runId: string;
  approvalId: string;
  ip: string;
}

/**
 * The suspicious-IP job as a SIEM would start it: an alert about a Tor exit node becomes a case, the
 * contain-ip playbook enriches the IP and reaches a verdict, policy holds the block for two people, and
 * the first approver (bob) has signed: the inbox shows "1 of 2".
 */
export async function seedScenario(ui: UiServer, ip = '185.220.101.47'): Promise<ScenarioCase> {
  const { runtime } = ui;
  const [result] = await runtime.cases.ingest(
    adaptPayload(
      'generic',
      {
        id: `notable-${ip}`,
        title: `Outbound connections to ${ip} from finance-ws-17`,
        description: 'Splunk notable: repeated outbound TLS to a known Tor exit from a finance workstation.',
        severity: 'high',
        observables: [
          { type: 'ipv4', value: ip },
          { type: 'domain', value: 'finance-ws-17.corp.example' },
        ],
        techniques: ['T1090.003'],
        tags: ['tor', 'finance'],
      },
      Date.now(),
    ),
  );
  if (!result?.case_id) throw new Error(`alert intake made no case: ${JSON.stringify(result)}`);
  const caseId = result.case_id;
  const playbook = runtime.playbooks.get('contain-ip');
  if (!playbook) throw new Error('contain-ip playbook did not load');
  const runId = await runtime.engine.startRun(playbook, { ip }, { startedBy: 'alice' });
  await runtime.cases.linkRun(caseId, runId);
  const run = await runtime.engine.waitForRun(runId, 30_000, { untilWaiting: true });
  if (run.status !== 'waiting') throw new Error(`contain-ip run did not wait for approval: ${run.status}`);
  const item = (await runtime.guardrails.inbox()).find((a) => a.run_id === runId && a.kind === 'policy');
  if (!item) throw new Error('no policy approval for the contain-ip run');
  const detail = await runtime.guardrails.get(item.id);
  await runtime.guardrails.decide(
    item.id,
    { id: 'bob', roles: ['approver'], name: 'bob' },
    { decision: 'approve', arguments_hash: detail.request?.arguments_hash ?? '', comment: 'Tor exit, finance host: agreed' },
  );
  const kase = await runtime.cases.getCase(caseId);
  await runtime.cases.addComment(
    caseId,
    { body: 'Checked **proxy logs**: 14 sessions since 02:10. See `finance-ws-17`.' },
    { kind: 'user', id: 'alice', name: 'alice' },
  );
  await runtime.cases.addTask(caseId, { title: 'Re-image finance-ws-17 if the EDR finds persistence', assignee: 'alice' });
  return { caseId, caseNumber: kase.number, runId, approvalId: item.id, ip };
}

const QUEUE_WORDS = ['beacon', 'powershell', 'phishing', 'lateral', 'credential', 'ransomware', 'scan', 'exfiltration', 'login', 'malware', 'dns', 'tunnel'];

/**
 * Fills the queue in bulk through the store (no timeline or audit per case): `count` cases one minute
 * apart, ending now, with a realistic spread of statuses, severities, assignees, tags and techniques.
 */
export async function seedQueue(store: Store, count: number): Promise<void> {
  const statuses = ['new', 'new', 'acknowledged', 'in_progress', 'in_progress', 'contained', 'resolved', 'closed', 'closed', 'closed'];
  const severities = ['informational', 'low', 'low', 'medium', 'medium', 'medium', 'high', 'high', 'critical', 'medium'];
  const techniques = ['T1059.001', 'T1566.001', 'T1078', 'T1110.003', 'T1021.002', 'T1486', 'T1547.001', 'T1071.001'];
  const first = await store.transaction((tx) => tx.cases.reserveNumbers(count));
  const base = Date.now() - count * 60_000;
  const CHUNK = 10_000;
  for (let offset = 0; offset < count; offset += CHUNK) {
    const rows: CaseRecord[] = [];
    for (let i = offset; i < Math.min(count, offset + CHUNK); i++) {
      const at = base + i * 60_000;
      const status = statuses[i % statuses.length] as string;
      const word = (k: number) => QUEUE_WORDS[(i * 7 + k * 13) % QUEUE_WORDS.length];
      rows.push({
        id: newId(at),
        number: first + i,
        title: `${word(0)} ${word(1)} on host-${i % 5000}`,
        description: `${word(2)} ${word(3)} seen by rule ${i % 300}`,
        severity: severities[(i * 7) % severities.length] as string,
        status,
        phase: status === 'closed' ? 'post_incident' : 'detection_analysis',
        tlp: 'amber',
        pap: 'amber',
        assignee: i % 3 === 0 ? null : `analyst${i % 20}`,
        tags: [`tag${i % 50}`, ...(i % 7 === 0 ? ['vip'] : [])],
        techniques: [techniques[i % techniques.length] as string],
        source: 'seed',
        resolution: status === 'closed' ? 'true_positive' : null,
        alertCount: 1 + (i % 4),
        minutesSaved: i % 11,
        createdAt: at,
        updatedAt: at,
        acknowledgedAt: status === 'new' ? null : at + 600_000,
        containedAt: ['contained', 'resolved', 'closed'].includes(status) ? at + 3_600_000 : null,
        resolvedAt: ['resolved', 'closed'].includes(status) ? at + 7_200_000 : null,
        closedAt: status === 'closed' ? at + 7_300_000 : null,
        acknowledgeDueAt: at + 1_800_000,
        containDueAt: at + 28_800_000,
        resolveDueAt: at + 259_200_000,
      });
    }
    await store.transaction((tx) => tx.cases.bulkInsert({ cases: rows }));
  }
  await store.cases.refreshStatistics();
}

/**
 * An email case as the phishing flow leaves it: the case, and the analysis `riposte phish analyze --json`
 * prints for the message, stored as evidence the UI's email view reads. `extra` adds the optional fields
 * a producer may keep (headers in order, the plain-text or HTML body).
 */
export async function seedEmailCase(
  ui: UiServer,
  eml: string | Uint8Array,
  extra: { headers?: Array<{ name: string; value: string }>; text?: string; html?: string } = {},
  title = 'Reported phishing: voicemail lure',
): Promise<{ caseId: string; caseNumber: number }> {
  const bytes = typeof eml === 'string' ? new Uint8Array(readFileSync(eml)) : eml;
  const report = await analyzeReport(bytes, { limits: DEFAULT_EMAIL_LIMITS });
  const line = { ...reportLine('reported.eml', report), ...extra };
  const kase = await ui.runtime.cases.createCase({ title, severity: 'high', tags: ['phishing'], techniques: ['T1566.001'] });
  await ui.runtime.cases.addEvidence(kase.id, {
    name: 'reported.email-analysis.json',
    contentType: 'application/vnd.riposte.email-analysis+json',
    content: new TextEncoder().encode(JSON.stringify(line)),
  });
  return { caseId: kase.id, caseNumber: kase.number };
}

export const PHISH_FIXTURE = join(import.meta.dirname, 'fixtures', 'email', 'corpus', 'phish', 'html-credential-page.eml');

/**
 * `user` approves a pending policy approval through the REST API with a token of their own (the first of
 * two approvers, while the test drives the browser as the second), bound to the arguments' hash as the UI is.
 */
export async function approveThroughApi(ui: UiServer, user: string, approvalId: string, comment: string): Promise<void> {
  const { token } = await ui.runtime.auth.createToken({ userName: user, name: `${user}-walk-${approvalId.slice(-6)}` });
  const headers = { authorization: `Bearer ${token}` };
  const detail = (await (await fetch(`${ui.url}/api/v1/approvals/${approvalId}`, { headers })).json()) as {
    approval?: { request?: { arguments_hash?: string } };
  };
  const answer = await fetch(`${ui.url}/api/v1/approvals/${approvalId}/decide`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'approve', arguments_hash: detail.approval?.request?.arguments_hash ?? '', comment }),
  });
  if (answer.status !== 200) throw new Error(`${user} could not approve ${approvalId}: HTTP ${answer.status} ${await answer.text()}`);
}

/** Polls until `probe` gives a value; throws after `timeoutMs` saying what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The pending policy approval of a run, once the run has parked on it. */
export async function pendingApprovalOf(ui: UiServer, runId: string): Promise<{ id: string; action: string | null }> {
  return until(`a pending policy approval for run ${runId}`, async () =>
    (await ui.runtime.guardrails.inbox()).find((a) => a.run_id === runId && a.kind === 'policy' && a.status === 'pending'),
  );
}

export interface PhishingWalkCase {
  caseId: string;
  caseNumber: number;
  runId: string;
  /** The approval the run parked on first (blocking the sender and URLs), already signed by bob. */
  approvalId: string;
}

/**
 * The demo's phishing scenario (`riposte demo`, scenario 2) played on this server: two employees report the
 * voicemail lure that sits in six mailboxes; each is acknowledged and told the verdict by e-mail, both
 * reports cluster into one case, and the phishing-triage run holds blocking the campaign for two approvers,
 * of whom bob has signed through the API.
 */
export async function seedPhishingScenario(ui: UiServer): Promise<PhishingWalkCase> {
  const mail = ui.mail;
  if (!mail) throw new Error('start the UI server with { mail: true } for the phishing scenario');
  const scenario = phishingScenario({
    received: () => mail.smtp.messages,
    campaignInInboxes: () => mail.tenant.copies(mail.campaignMessageId).filter((c) => c.folder === 'inbox').length,
  });
  const report = await scenario.play({ runtime: ui.runtime, lab: ui.lab, url: ui.url, webhookToken: '', say: () => {} });
  const caseNumber = report.outcomes.find((o) => o.caseNumber !== undefined)?.caseNumber;
  if (caseNumber === undefined) throw new Error(`the phishing scenario opened no case: ${JSON.stringify(report.outcomes)}`);
  const kase = await ui.runtime.cases.getCase(String(caseNumber));
  const runId = await until('the phishing-triage run of the case', async () => {
    for (const link of await ui.runtime.cases.runsOf(kase.id)) {
      const run = await ui.runtime.engine.getRun(link.run_id);
      if (run.playbookId === 'phishing-triage' && !(run.inputs as { joined?: boolean }).joined) return run.id;
    }
    return undefined;
  });
  const held = await pendingApprovalOf(ui, runId);
  await approveThroughApi(ui, 'bob', held.id, 'Lookalike voicemail lure: block it');
  return { caseId: kase.id, caseNumber, runId, approvalId: held.id };
}

export interface HuntWalk {
  huntId: string;
  caseId: string;
  caseNumber: number;
  runId: string;
  /** The approval the critical server's wave waits on, already signed by bob. */
  approvalId: string;
  criticalHosts: string[];
}

/**
 * The demo's hunt scenario (`riposte demo`, scenario 3) on this server: the Run-key Sigma rule (T1547.001)
 * hunted through Fleet over the demo's 200 endpoints, the hits on one case with evidence per host, and the
 * registry-hunt playbook remediating in waves: canary and 10% run and are verified by re-query, the wave with
 * the critical server (per the demo CMDB) waits for two approvers, of whom bob has signed through the API.
 */
export async function seedHuntScenario(ui: UiServer): Promise<HuntWalk> {
  const { runtime } = ui;
  if (!ui.fleet) throw new Error('start the UI server with { fleet: true } for the hunt scenario');
  const hunt = await runtime.hunts.run({ sigma: RUN_KEY_RULE, edr: 'fleet', expires_in_ms: 4000 }, { kind: 'user', id: 'alice', name: 'alice' });
  if (!hunt.case_id) throw new Error(`the hunt opened no case: ${JSON.stringify(hunt.progress)}`);
  const playbook = runtime.playbooks.get('registry-hunt');
  if (!playbook) throw new Error('registry-hunt playbook did not load');
  const runId = await runtime.engine.startRun(playbook, { hunt_id: hunt.id }, { startedBy: 'alice' });
  await runtime.cases.linkRun(hunt.case_id, runId);
  const run = await runtime.engine.waitForRun(runId, 30_000, { untilWaiting: true });
  if (run.status !== 'waiting') throw new Error(`registry-hunt did not wait for the critical wave: ${run.status} ${JSON.stringify(run.error)}`);
  const held = await pendingApprovalOf(ui, runId);
  await approveThroughApi(ui, 'bob', held.id, 'DC clean-up agreed with the identity team');
  const plan = await runtime.hunts.plan(hunt.id);
  const criticalHosts = plan.flatMap((w) => w.hosts.filter((h) => h.criticality === 'critical').map((h) => h.hostname));
  const kase = await runtime.cases.getCase(hunt.case_id);
  return { huntId: hunt.id, caseId: hunt.case_id, caseNumber: kase.number, runId, approvalId: held.id, criticalHosts };
}
