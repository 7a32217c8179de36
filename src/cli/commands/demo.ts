import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openRuntime, type Runtime, startServer } from '../../app/index.ts';
import type { Config } from '../../core/index.ts';
import { INTEGRATIONS } from '../../integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../../integrations/sdk/index.ts';
import { fireIpAlert, LAB_ACCOUNTS, type Lab, SEED_IPS, SIMULATOR_API_KEY, startLab } from '../../lab/index.ts';
import { configFor } from '../context.ts';
import { parsePort } from '../parse.ts';
import { waitForShutdown } from '../shutdown.ts';

/**
 * The main job in one command: Riposte on the embedded SQLite store, the vendor simulators on loopback
 * (wired as integration instances for this process only, never stored), and scenario 1 played through the
 * real webhook — a malicious IP, a CDN edge and a partner's gateway — with what landed on each case printed.
 * Then the server stays up for the UI and API unless `--no-server`.
 */
const DEMO_ASSETS = 'ip,hostname,name,owner,criticality,environment\n10.20.30.40,web-01.corp.example,web-01,Web team,medium,production\n';
const PARTNER = { cidr: '195.12.50.0/24', name: 'Northwind Traders' };

/** The playbooks shipped with Riposte, used when the configured folder has no ip-enrichment playbook. */
const BUNDLED_PLAYBOOKS = resolve(import.meta.dirname, '../../../playbooks');

function demoConfig(config: Config, token: string): Config {
  const allowLists = (config.policy.allow_lists ?? {}) as Record<string, unknown>;
  const playbooks = existsSync(join(config.engine.playbooks_dir, 'ip-enrichment.yml')) ? config.engine.playbooks_dir : BUNDLED_PLAYBOOKS;
  return {
    ...config,
    engine: { ...config.engine, playbooks_dir: playbooks },
    // The demo always uses the embedded store, whatever RIPOSTE_DATABASE_URL says: it must work anywhere.
    database_url: undefined,
    integrations: { ...config.integrations, http_allow: [...config.integrations.http_allow, '127.0.0.1'] },
    webhooks: { ...config.webhooks, splunk: { ...config.webhooks.splunk, tokens: [...config.webhooks.splunk.tokens, token] } },
    intel: { ...config.intel, partners: [...config.intel.partners, { value: PARTNER.cidr, label: `${PARTNER.name} VPN (demo partner)` }] },
    policy: {
      ...config.policy,
      allow_lists: { ...allowLists, partners: [...((allowLists.partners as unknown[] | undefined) ?? []), { name: PARTNER.name, cidrs: [PARTNER.cidr] }] },
    },
  };
}

function labInstances(lab: Lab, assetsFile: string): IntegrationInstance[] {
  return INTEGRATIONS.flatMap((integration) => {
    const sim = lab.simulators[integration.id];
    const settings =
      integration.id === 'cmdb'
        ? { name: 'cmdb', config: { file: assetsFile }, secrets: {} }
        : sim
          ? {
              name: integration.id,
              config: { baseUrl: sim.url, ...LAB_ACCOUNTS[integration.id] },
              secrets: Object.fromEntries(Object.keys(integration.secrets).map((name) => [name, SIMULATOR_API_KEY])),
            }
          : undefined;
    return settings ? [createIntegrationInstance(integration, settings, { guard: { allow: ['127.0.0.1'] } })] : [];
  });
}

async function playScenario(runtime: Runtime, url: string, token: string, say: (line: string) => void): Promise<void> {
  if (!runtime.playbooks.get('ip-enrichment')) {
    say('  the ip-enrichment playbook is not valid here (riposte playbook validate): nothing to play');
    return;
  }
  const profiles = ['malicious', 'cdn', 'partner'] as const;
  for (const [index, profile] of profiles.entries()) {
    const ip = SEED_IPS.find((s) => s.profile === profile)?.ip as string;
    const started = performance.now();
    const answer = await fireIpAlert(url, token, { ip, dest: `10.20.30.${40 + index}` });
    const caseId = (answer.body as { results?: Array<{ case_id: string }> }).results?.[0]?.case_id;
    if (answer.status !== 201 || !caseId) {
      say(`  ${ip} (${profile}): the alert was refused (HTTP ${answer.status})`);
      continue;
    }
    let runId: string | undefined;
    const deadline = Date.now() + 10_000;
    while (!runId && Date.now() < deadline) {
      for (const link of await runtime.cases.runsOf(caseId))
        if (((await runtime.engine.getRun(link.run_id)).inputs as { ip?: string } | null)?.ip === ip) runId = link.run_id;
      if (!runId) await new Promise((r) => setTimeout(r, 25));
    }
    const run = runId ? await runtime.engine.waitForRun(runId, 15_000) : undefined;
    const ms = Math.round(performance.now() - started);
    const out = (run?.output ?? {}) as {
      verdict?: string;
      confidence?: number;
      reasons?: string[];
      response?: string;
      blocked_until?: string;
      ticket?: string;
    };
    const c = await runtime.cases.getCase(caseId);
    const response =
      out.response === 'blocked'
        ? `blocked on the EDL until ${out.blocked_until}${out.ticket ? `, ticket ${out.ticket}` : ''}`
        : out.response === 'refused'
          ? 'block refused by policy'
          : (out.response ?? run?.status ?? 'still running');
    say(`  ${ip} (${profile}) → case #${c.number}: ${out.verdict ?? '?'} (confidence ${out.confidence ?? '?'}), ${response} — ${ms} ms`);
    for (const reason of (out.reasons ?? []).slice(0, 3)) say(`      · ${reason}`);
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start Riposte on the embedded store with the vendor simulators and play the suspicious-IP scenario')
    .option('--no-server', 'play the scenario and exit instead of staying up for the UI')
    .option('--port <port>', 'port for the demo server (default 8088)', parsePort)
    .option('--latency <ms>', 'delay the simulators add to every answer', '50')
    .addHelpText('after', '\nExample:\n  riposte demo --port 8088          # then: curl -u x:<token> http://127.0.0.1:8088/edl/riposte-block')
    .action(async (options: { server: boolean; port?: number; latency: string }, command: Command) => {
      const base = configFor(command, { 'server.port': options.port });
      const token = randomBytes(16).toString('hex');
      const config = demoConfig(base, token);
      const latency = Number(options.latency);
      const lab = await startLab({ latencyMs: Number.isFinite(latency) && latency >= 0 ? latency : 50 });
      mkdirSync(config.data_dir, { recursive: true });
      const assetsFile = join(config.data_dir, 'demo-assets.csv');
      writeFileSync(assetsFile, DEMO_ASSETS);
      let runtime: Runtime;
      try {
        runtime = await openRuntime(config, undefined, { instances: labInstances(lab, assetsFile) });
      } catch (error) {
        await lab.close();
        throw error;
      }
      const say = (line: string) => process.stderr.write(`${line}\n`);
      say(`riposte demo: store ready (sqlite ${runtime.store.location}); ${Object.keys(lab.simulators).length} vendor simulators on loopback`);
      const server = await startServer(runtime, options.server ? {} : { host: '127.0.0.1', port: 0 });
      try {
        say('riposte demo: scenario 1 — SIEM alerts about three outside IPs, through the Splunk webhook:');
        await playScenario(runtime, server.url, token, say);
      } catch (error) {
        say(`riposte demo: the scenario stopped: ${(error as Error).message}`);
      }
      if (!options.server) {
        await server.close();
        await lab.close();
        return;
      }
      process.stdout.write(
        `\nRiposte is running at ${server.url}  (health: ${server.url}/healthz, EDL: ${server.url}/edl/riposte-block)\nPress Ctrl-C to stop.\n`,
      );
      await waitForShutdown(server, runtime.logger);
      await lab.close();
    });
}
