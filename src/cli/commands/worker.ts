import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { startWorker } from '../../app/index.ts';
import { createLogger, parseDuration } from '../../core/index.ts';
import { configFor } from '../context.ts';
import { parsePort, parsePositiveInt } from '../parse.ts';

function parseDurationFlag(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0) throw new InvalidArgumentError('must be a duration such as 500ms, 30s or 2m');
  return ms;
}

function parseQueues(value: string, previous: string[] = []): string[] {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('must name at least one playbook id');
  return previous.concat(ids);
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run playbooks only (scale-out on PostgreSQL): claim runs with leases, execute them, serve no API')
    .option('--concurrency <n>', 'runs held at once by this worker (default 200)', parsePositiveInt)
    .option('--queues <playbook-ids>', 'only run these playbooks (comma-separated, repeatable); default all', parseQueues)
    .option('--health-port <port>', 'serve /healthz and /metrics on this port (default: no listener)', parsePort)
    .option('--health-host <host>', 'address of the health listener (default 127.0.0.1)')
    .option('--lease <duration>', 'lease on a claimed run, renewed every third of it; a dead worker’s runs move after this (default 30s)', parseDurationFlag)
    .option('--poll <duration>', 'look for due work at least this often besides LISTEN/NOTIFY wake-ups (default 1s)', parseDurationFlag)
    .option('--grace <duration>', 'on SIGTERM, let executing steps finish this long before handing their runs back (default 30s)', parseDurationFlag)
    .action(
      async (
        options: { concurrency?: number; queues?: string[]; healthPort?: number; healthHost?: string; lease?: number; poll?: number; grace?: number },
        command: Command,
      ) => {
        const config = configFor(command);
        const logger = createLogger({ level: config.log.level });
        const worker = await startWorker(config, {
          logger,
          ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
          ...(options.queues !== undefined ? { queues: options.queues } : {}),
          ...(options.healthPort !== undefined ? { healthPort: options.healthPort } : {}),
          ...(options.healthHost !== undefined ? { healthHost: options.healthHost } : {}),
          ...(options.lease !== undefined ? { leaseMs: Math.max(300, options.lease) } : {}),
          ...(options.poll !== undefined ? { pollMs: Math.max(10, options.poll) } : {}),
          ...(options.grace !== undefined ? { graceMs: options.grace } : {}),
        });
        process.stderr.write(
          `riposte: worker ${worker.id} running playbooks (store: ${worker.store.backend} ${worker.store.location})${worker.healthUrl ? `, health on ${worker.healthUrl}` : ''}\n`,
        );
        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = (signal: NodeJS.Signals) => {
            if (stopping) {
              process.stderr.write(`riposte: ${signal} again, exiting without handing leases back (they expire)\n`);
              process.exit(1);
            }
            stopping = true;
            process.stderr.write(`riposte: ${signal} received, finishing executing steps and handing leases back\n`);
            worker.close().then(
              () => resolve(),
              (error: unknown) => {
                logger.error({ err: error }, 'worker shutdown failed');
                process.exitCode = 1;
                resolve();
              },
            );
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        process.stderr.write(`riposte: worker ${worker.id} stopped\n`);
      },
    );
}
