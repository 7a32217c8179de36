import type { Command } from 'commander';
import { openRuntime, startServer } from '../../app/index.ts';
import { configFor } from '../context.ts';
import { parsePort } from '../parse.ts';
import { waitForShutdown } from '../shutdown.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the API server (and, in the embedded mode, the playbook runner)')
    .option('--host <host>', 'address to listen on (config server.host, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (config server.port, default 8088)', parsePort)
    .option('--no-worker', 'do not run playbooks in this process (config engine.runner: false): `riposte worker` processes run them')
    .action(async (options: { host?: string; port?: number; worker: boolean }, command: Command) => {
      const config = configFor(command, {
        'server.host': options.host,
        'server.port': options.port,
        ...(options.worker === false ? { 'engine.runner': false } : {}),
      });
      if (options.worker === false && config.database_url === undefined) {
        process.stderr.write('riposte: warning: --no-worker with the embedded SQLite store: no process will run playbooks (riposte worker needs PostgreSQL)\n');
      }
      const runtime = await openRuntime(config);
      const server = await startServer(runtime);
      process.stderr.write(`riposte: listening on ${server.url} (store: ${runtime.store.backend} ${runtime.store.location})\n`);
      await waitForShutdown(server, runtime.logger);
    });
}
