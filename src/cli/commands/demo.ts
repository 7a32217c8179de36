import type { Command } from 'commander';
import { openRuntime, startServer } from '../../app/index.ts';
import { configFor } from '../context.ts';
import { parsePort } from '../parse.ts';
import { waitForShutdown } from '../shutdown.ts';

/**
 * The main job in one command. Today it starts Riposte on the embedded SQLite store; the three flagship
 * scenarios (suspicious IP, reported phishing, fleet hunt) join as their issues land.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start Riposte on the embedded store and play the flagship scenarios against the simulated enterprise')
    .option('--no-server', 'run the scenarios and exit instead of staying up for the UI')
    .option('--port <port>', 'port for the demo server (default 8088)', parsePort)
    .action(async (options: { server: boolean; port?: number }, command: Command) => {
      // The demo always uses the embedded store, whatever RIPOSTE_DATABASE_URL says: it must work anywhere.
      const config = configFor(command, { 'server.port': options.port });
      const runtime = await openRuntime({ ...config, database_url: undefined });
      process.stderr.write(`riposte demo: store ready (sqlite ${runtime.store.location})\n`);
      process.stderr.write('riposte demo: the flagship scenarios arrive with later releases; starting the server only\n');
      if (!options.server) {
        await runtime.close();
        return;
      }
      const server = await startServer(runtime);
      process.stdout.write(`\nRiposte is running at ${server.url}  (health: ${server.url}/healthz)\nPress Ctrl-C to stop.\n`);
      await waitForShutdown(server, runtime.logger);
    });
}
