import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime, type RunningServer, type Runtime, startServer } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import type { IntegrationInstance } from '../src/integrations/sdk/index.ts';
import { type LlmSimulator, SIMULATOR_LLM_API_KEY, startLlmSimulator } from '../src/lab/index.ts';
import type { TestBackend, TestStore } from '../src/store/testing.ts';

/**
 * Shared by the AI tests: a runtime with the `ai` block pointed at the lab's model server, served over real
 * HTTP, a playbooks folder holding only manual playbooks (so no alert trigger starts a run behind the test's
 * back), tokens per role, and helpers to raise alerts, add intel and ask the assistant.
 */
export const MANUAL_PLAYBOOK = `id: block-ip-manually
version: 1
title: Block an IP at the EDL (manual)
trigger: { manual: true }
inputs:
  ip: { type: ip, description: the address to block }
  ttl: { type: string, required: false, default: 24h, enum: [1h, 24h] }
steps:
  - id: note
    action: core.log
    with: { message: "would block {{ inputs.ip }}" }
`;

export const LLM_SECRET = SIMULATOR_LLM_API_KEY;

export interface AiWorld {
  t: TestStore;
  runtime: Runtime;
  server: RunningServer;
  sim: LlmSimulator;
  playbooksDir: string;
  token(role: 'viewer' | 'analyst' | 'responder' | 'approver' | 'admin'): Promise<string>;
  call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Raises one alert through the API (admin token) and returns its case id. */
  alert(payload: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function openAiWorld(
  backend: TestBackend,
  options: {
    config?: Record<string, unknown>;
    env?: Record<string, string>;
    sim?: Parameters<typeof startLlmSimulator>[0];
    /** Vendor instances beside the model (the injection corpus wires the lab firewall to prove it is never called). */
    instances?: IntegrationInstance[];
  } = {},
): Promise<AiWorld> {
  const sim = await startLlmSimulator(options.sim);
  const playbooksDir = mkdtempSync(join(tmpdir(), 'riposte-ai-playbooks-'));
  writeFileSync(join(playbooksDir, 'block-ip-manually.yml'), MANUAL_PLAYBOOK);
  const t = await backend.open();
  await t.store.close();
  const config = loadConfig({
    env: t.env,
    cwd: tmpdir(),
    overrides: {
      'log.level': 'silent',
      'engine.playbooks_dir': playbooksDir,
      'engine.runner': false,
      'integrations.http_allow': ['127.0.0.1'],
      'ai.enabled': true,
      'ai.base_url': sim.url,
      'ai.model': sim.model,
      'ai.api_key_secret': 'LLM_KEY',
      // The default 60 a minute would make the later requests of a test wait for the token bucket.
      'ai.rate_limit_per_minute': 6000,
      ...options.config,
    },
  });
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), {
    env: { RIPOSTE_SECRET_LLM_KEY: LLM_SECRET, ...options.env },
    announce: () => {},
    ...(options.instances ? { instances: options.instances } : {}),
  });
  const server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
  const tokens = new Map<string, string>();
  const token = async (role: 'viewer' | 'analyst' | 'responder' | 'approver' | 'admin') => {
    const known = tokens.get(role);
    if (known) return known;
    const name = `${role}-${randomUUID().slice(0, 8)}`;
    await runtime.auth.createUser({ name, roles: [role] });
    const created = (await runtime.auth.createToken({ userName: name })).token;
    tokens.set(role, created);
    return created;
  };
  const call = async (method: string, path: string, bearer: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  return {
    t,
    runtime,
    server,
    sim,
    playbooksDir,
    token,
    call,
    async alert(payload) {
      const res = await call('POST', '/api/v1/alerts', await token('admin'), payload);
      if (res.status >= 300) throw new Error(`alert refused: ${res.status} ${JSON.stringify(res.body)}`);
      const results = (res.body.results ?? res.body.alerts ?? [res.body]) as Array<{ case_id?: string }>;
      const caseId = results[0]?.case_id;
      if (!caseId) throw new Error(`no case in ${JSON.stringify(res.body)}`);
      return caseId;
    },
    async close() {
      await server.close();
      await sim.close();
      await t.dispose().catch(() => {});
      rmSync(playbooksDir, { recursive: true, force: true });
    },
  };
}

/** A STIX 2.1 indicator for one IPv4 address with a description (third-party text). */
export function ipIndicator(ip: string, description: string, name = `C2 ${ip}`): Record<string, unknown> {
  const now = new Date('2026-11-01T00:00:00Z').toISOString();
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created: now,
    modified: now,
    name,
    description,
    pattern: `[ipv4-addr:value = '${ip}']`,
    pattern_type: 'stix',
    valid_from: now,
    confidence: 80,
  };
}

/** Adds indicators to the first TAXII collection (created when there is none). */
export async function addIntel(runtime: Runtime, objects: Array<Record<string, unknown>>, tlp?: 'red' | 'amber' | 'green' | 'clear'): Promise<void> {
  let [collection] = await runtime.store.intel.listCollections();
  if (!collection)
    collection = await runtime.store.intel.putCollection({
      id: randomUUID(),
      apiRoot: 'default',
      title: 'test intel',
      description: null,
      alias: null,
      readAccess: ['intel:read'],
      writeAccess: ['intel:write'],
    });
  await runtime.indicators.ingest(collection.id, objects, tlp ? { tlp } : {});
}

let ipCounter = 0;
/** A fresh public-looking address per call (cases correlate by observable, so each alert opens its own case). */
export function freshIp(): string {
  ipCounter++;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}
