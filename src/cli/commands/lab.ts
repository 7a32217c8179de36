import type { Command } from 'commander';
import { integrationInstanceService, masterKeyFor } from '../../app/index.ts';
import { createLogger, usageError } from '../../core/index.ts';
import { INTEGRATIONS } from '../../integrations/catalog.ts';
import {
  DEFAULT_ALERT_IP,
  fireIpAlert,
  INTERNAL_HANDLERS,
  LAB_ACCOUNTS,
  responseHandlers,
  SEED_IPS,
  SIMULATOR_API_KEY,
  startSimulator,
  THREAT_INTEL_HANDLERS,
  UNKNOWN_IP,
  type VendorSimulator,
} from '../../lab/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

/** `riposte lab start`: the vendor simulators on fixed loopback ports, optionally configured as instances. */
export function registerLab(program: Command): void {
  const lab = program.command('lab').description('local simulators of the vendor APIs, for demos, tests and benchmarks');
  registerFire(lab);
  lab
    .command('start')
    .description('run every vendor simulator on loopback and print their URLs; Ctrl-C stops them')
    .option('--port <n>', 'first port (the simulators take consecutive ports)', '7701')
    .option('--latency <ms>', 'delay added to every answer', '0')
    .option('--configure', 'add (or update) an integration instance per simulator, named after the vendor, with the lab key')
    .option('--json', 'print the URLs as JSON')
    .action(async (options: { port: string; latency: string; configure?: boolean; json?: boolean }, command: Command) => {
      const port = Number(options.port);
      const latency = Number(options.latency);
      if (!Number.isInteger(port) || port < 1 || port > 65000) throw usageError('--port must be a port number');
      if (!Number.isFinite(latency) || latency < 0) throw usageError('--latency must be a number of milliseconds');
      const sims: VendorSimulator[] = [];
      for (const [index, handler] of [...THREAT_INTEL_HANDLERS, ...INTERNAL_HANDLERS, ...responseHandlers()].entries())
        sims.push(await startSimulator(handler, { port: port + index, latencyMs: latency }));
      if (options.configure) {
        const config = configFor(command);
        if (!config.integrations.http_allow.includes('127.0.0.1'))
          createOutput(false).note(
            'note: set RIPOSTE_INTEGRATIONS_HTTP_ALLOW=127.0.0.1 for the server to reach the simulators (the SSRF guard refuses loopback otherwise)',
          );
        const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
        try {
          const service = integrationInstanceService({ store, config, masterKey: () => masterKeyFor(config, createLogger({ level: config.log.level })) });
          for (const sim of sims) {
            // The two lab MISP servers are two instances (misp_a, misp_b) of the one MISP product.
            const product = sim.vendor.startsWith('misp_') ? 'misp' : sim.vendor;
            const integration = INTEGRATIONS.find((i) => i.id === product);
            if (!integration) continue;
            const secrets = Object.fromEntries(Object.keys(integration.secrets).map((name) => [name, SIMULATOR_API_KEY]));
            const extra = product === 'servicenow_cmdb' ? { username: 'riposte' } : {};
            await service.add({ name: sim.vendor, integration: product, config: { baseUrl: sim.url, ...extra, ...LAB_ACCOUNTS[sim.vendor] }, secrets });
          }
        } finally {
          await store.close();
        }
      }
      const data = {
        simulators: sims.map((s) => ({ vendor: s.vendor, url: s.url })),
        api_key: SIMULATOR_API_KEY,
        ips: SEED_IPS.map((s) => ({ ip: s.ip, profile: s.profile })),
        unknown_ip: UNKNOWN_IP,
      };
      createOutput(Boolean(options.json)).data(data, () =>
        [
          formatTable(
            ['vendor', 'url'],
            sims.map((s) => [s.vendor, s.url]),
          ),
          `API key for every simulator: ${SIMULATOR_API_KEY}`,
          `seeded IPs: ${SEED_IPS.map((s) => `${s.ip} (${s.profile})`).join(', ')}, ${UNKNOWN_IP} (unknown)`,
          options.configure ? 'instances configured: restart `riposte serve` to register their actions' : '',
          'Ctrl-C to stop',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await Promise.all(sims.map((s) => s.close()));
    });
}

/** `riposte lab fire ip-alert`: a realistic Splunk alert about a seeded IP, posted to a running Riposte. */
function registerFire(lab: Command): void {
  const fire = lab.command('fire').description('send a realistic SIEM alert to a running Riposte');
  fire
    .command('ip-alert')
    .description('post a Splunk Enterprise Security notable about an outside IP to <server>/api/v1/webhooks/splunk')
    .option('--ip <ip>', 'the outside IP the alert names', DEFAULT_ALERT_IP)
    .option('--dest <ip>', 'the internal host that talked to it', '10.20.30.40')
    .option('--server <url>', 'Riposte base URL (default: server.public_url, else http://127.0.0.1:<server.port>)')
    .option('--token <token>', 'the splunk webhook token (default: RIPOSTE_LAB_WEBHOOK_TOKEN, else the first of webhooks.splunk.tokens)')
    .option('--json', "print Riposte's answer as JSON")
    .addHelpText(
      'after',
      `\nExample:\n  RIPOSTE_WEBHOOK_SPLUNK_TOKENS=lab-token riposte serve &\n  riposte lab fire ip-alert --ip 185.220.101.47 --token lab-token\n\nSeeded IPs: ${SEED_IPS.map((s) => `${s.ip} (${s.profile})`).join(', ')}`,
    )
    .action(async (options: { ip: string; dest: string; server?: string; token?: string; json?: boolean }, command: Command) => {
      const config = configFor(command);
      const server = options.server ?? config.server.public_url ?? `http://127.0.0.1:${config.server.port}`;
      if (!/^https?:\/\//.test(server)) throw usageError('--server must be an http(s) URL');
      const token = options.token ?? process.env.RIPOSTE_LAB_WEBHOOK_TOKEN ?? config.webhooks.splunk.tokens[0];
      if (!token)
        throw usageError('give the splunk webhook token with --token (the server must list it in webhooks.splunk.tokens / RIPOSTE_WEBHOOK_SPLUNK_TOKENS)');
      let result: Awaited<ReturnType<typeof fireIpAlert>>;
      try {
        result = await fireIpAlert(server, token, { ip: options.ip, dest: options.dest }, AbortSignal.timeout(15_000));
      } catch (error) {
        throw usageError(`cannot reach Riposte at ${server}: ${(error as Error).message}`);
      }
      const out = createOutput(Boolean(options.json));
      if (result.status !== 201 && result.status !== 200) {
        const detail = (result.body as { detail?: string } | null)?.detail ?? JSON.stringify(result.body).slice(0, 300);
        out.note(`riposte: the alert was refused (HTTP ${result.status}): ${detail}`);
        process.exitCode = 1;
        return;
      }
      const first = (result.body as { results?: Array<{ case_id?: string; case_number?: number; outcome?: string }> }).results?.[0];
      out.data(result.body, () =>
        [
          `alert about ${options.ip} accepted: ${first?.outcome ?? 'ingested'} case #${first?.case_number ?? '?'} (${first?.case_id ?? '?'})`,
          `follow it: GET ${server}/api/v1/cases/${first?.case_id ?? ''}/timeline`,
        ].join('\n'),
      );
    });
}
