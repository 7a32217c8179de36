import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openRuntime, type Runtime, startServer } from '../../app/index.ts';
import { type Lab, startLab } from '../../lab/index.ts';
import { configFor } from '../context.ts';
import { demoAiConfig, demoEnv, draftDemoPlaybook, startDemoLlm, summariseScenarioCase } from '../demo/ai-assistance.ts';
import { huntScenario } from '../demo/hunt-scenario.ts';
import { ipScenario } from '../demo/ip-scenario.ts';
import { CAMPAIGN_FILE, phishingScenario } from '../demo/phishing-scenario.ts';
import { type DemoScenario, formatDuration, type ScenarioReport } from '../demo/scenario.ts';
import {
  type DemoAccount,
  type DemoFleet,
  type DemoMail,
  demoAccounts,
  demoConfig,
  labInstances,
  startDemoFleet,
  startDemoMail,
  writeDemoCmdb,
} from '../demo/world.ts';
import { formatTable } from '../output.ts';
import { parsePort } from '../parse.ts';
import { waitForShutdown } from '../shutdown.ts';

/**
 * The main job in one command: Riposte on the embedded SQLite store against a simulated enterprise (the
 * vendor simulators on loopback, a CMDB, a partner range), the flagship scenarios played through the real
 * webhooks and playbooks with progress on the terminal, then a summary table and the UI's address with
 * one-time credentials. `--no-server` plays the scenarios and exits. Re-running finds the earlier cases
 * and runs instead of duplicating them.
 */

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('play the flagship scenarios against a simulated enterprise on the embedded store, then keep serving the UI')
    .option('--no-server', 'play the scenarios, print the summary and exit')
    .option('--port <port>', 'port for the demo server (default 8088)', parsePort)
    .option('--latency <ms>', 'delay the simulators add to every answer', '50')
    .addHelpText(
      'after',
      '\nExamples:\n  riposte demo                    # then open the printed URL and sign in with the printed credentials\n  riposte demo --no-server --port 0   # CI: play and exit',
    )
    .action(async (options: { server: boolean; port?: number; latency: string }, command: Command) => {
      const started = performance.now();
      const base = configFor(command, { 'server.port': options.port });
      const webhookToken = randomBytes(16).toString('hex');
      const latency = Number(options.latency);
      const say = (line: string) => process.stderr.write(`${line}\n`);
      const latencyMs = Number.isFinite(latency) && latency >= 0 ? latency : 50;
      const llm = await startDemoLlm(latencyMs);
      const config = demoAiConfig(demoConfig(base, webhookToken), llm);
      const lab: Lab = await startLab({ latencyMs });
      const fleet: DemoFleet = await startDemoFleet(Math.min(latencyMs, 20));
      const mail: DemoMail = await startDemoMail(readFileSync(CAMPAIGN_FILE));
      const closeLab = async () => {
        await mail.close();
        await fleet.simulator.close();
        await lab.close();
        await llm.close();
      };
      const scenarios: DemoScenario[] = [
        ipScenario,
        phishingScenario({
          received: () => mail.smtp.messages,
          campaignInInboxes: () => mail.tenant.copies(mail.campaignMessageId).filter((c) => c.folder === 'inbox').length,
        }),
        huntScenario,
      ];
      let runtime: Runtime;
      try {
        const cmdbFile = writeDemoCmdb(config.data_dir, fleet.fleet);
        // The first-start admin password is not needed: the demo prints its own accounts below.
        runtime = await openRuntime(config, undefined, { instances: labInstances(lab, cmdbFile, fleet, mail), announce: () => {}, env: demoEnv() });
      } catch (error) {
        await closeLab();
        throw error;
      }
      say(`riposte demo: embedded store ${runtime.store.location}; ${Object.keys(lab.simulators).length} vendor simulators on loopback`);
      const server = await startServer(runtime, options.server ? {} : { host: '127.0.0.1', port: 0 });
      const accounts = await demoAccounts(runtime);
      const reports: ScenarioReport[] = [];
      for (const [index, scenario] of scenarios.entries()) {
        say(`\n[${index + 1}/${scenarios.length}] ${scenario.title}`);
        try {
          const report = await scenario.play({ runtime, lab, url: server.url, webhookToken, say });
          reports.push(report);
          await summariseScenarioCase(runtime, report, say);
        } catch (error) {
          say(`  the scenario stopped: ${(error as Error).message}`);
          reports.push({
            title: scenario.title,
            manualBaseline: '—',
            outcomes: [{ subject: 'scenario', decided: 'stopped with an error', done: (error as Error).message, ms: 0 }],
            ms: 0,
          });
        }
      }
      await draftDemoPlaybook(runtime, say);
      process.stdout.write(`\n${summary(reports, performance.now() - started)}\n`);
      if (!options.server) {
        await server.close();
        await closeLab();
        return;
      }
      process.stdout.write(`\n${signIn(server.url, accounts)}\nPress Ctrl-C to stop.\n`);
      await waitForShutdown(server, runtime.logger);
      await closeLab();
    });
}

function summary(reports: ScenarioReport[], totalMs: number): string {
  const rows: string[][] = [];
  for (const report of reports) {
    for (const [i, o] of report.outcomes.entries()) {
      rows.push([
        i === 0 ? report.title : '',
        `${o.subject}${o.caseNumber !== undefined ? ` (case #${o.caseNumber})` : ''}`,
        o.decided,
        o.waiting ? `WAITING: ${o.waiting}` : o.done,
        formatDuration(o.ms),
        i === 0 ? report.manualBaseline : '',
      ]);
    }
  }
  const waiting = reports.flatMap((r) => r.outcomes).filter((o) => o.waiting).length;
  return [
    'Summary',
    formatTable(['scenario', 'subject', 'decided', 'done', 'took', 'by hand'], rows),
    `${reports.length} scenario(s) in ${formatDuration(totalMs)}; ${waiting === 0 ? 'nothing waits for a person' : `${waiting} action(s) wait for an approver (policy approvals in the UI's Approvals page)`}.`,
  ].join('\n');
}

function signIn(url: string, accounts: DemoAccount[]): string {
  return [
    `Riposte is running at ${url}  (health ${url}/healthz, API docs ${url}/api/docs, EDL ${url}/edl/riposte-block)`,
    'Sign in with these one-time demo accounts (new passwords each run):',
    ...accounts.map((a) => `  ${a.name.padEnd(9)} ${a.password}   (${a.roles.join(', ')})`),
    'Open Approvals as "approver" to release a held block; the analyst who started a run cannot approve it.',
  ].join('\n');
}
