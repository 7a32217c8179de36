import type { RunningServer } from '../app/index.ts';
import type { Logger } from '../core/index.ts';

/**
 * Resolves once the server has shut down after SIGINT or SIGTERM: in-flight requests drain, the store
 * closes. A second signal while draining exits at once (the operator means it).
 */
export function waitForShutdown(server: RunningServer, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`riposte: ${signal} again, exiting without draining\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`riposte: ${signal} received, draining requests and closing the store\n`);
      server.close().then(
        () => resolve(),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
