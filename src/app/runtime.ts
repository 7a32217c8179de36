import type { FastifyInstance } from 'fastify';
import type { CasesService } from '../cases/index.ts';
import { type Config, createLogger, type Logger, RiposteError } from '../core/index.ts';
import { buildServer } from '../server/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { buildCasesService, webhookCredentialsFrom } from './cases.ts';
import { VERSION } from './version.ts';

/**
 * The composition root: it opens the store, and (as modules land) registers integrations with the
 * engine, hands the runner its policy check and wires case events to playbook triggers. The CLI and
 * tests build a Riposte through here so that production and tests wire things identically.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  store: Store;
  cases: CasesService;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, logger: Logger = createLogger({ level: config.log.level })): Promise<Runtime> {
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
  const cases = buildCasesService(store, config, logger);
  return {
    config,
    logger,
    store,
    cases,
    async close() {
      await cases.drain();
      await store.close();
    },
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting connections, drains in-flight requests, then closes the runtime. */
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, listen: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const app = await buildServer({
    store: runtime.store,
    config: runtime.config,
    logger: runtime.logger,
    version: VERSION,
    cases: runtime.cases,
    webhookCredentials: webhookCredentialsFrom(runtime.store, runtime.config),
  });
  const host = listen.host ?? runtime.config.server.host;
  const port = listen.port ?? runtime.config.server.port;
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new RiposteError('server.port_in_use', `port ${port} on ${host} is already in use; choose another with --port or RIPOSTE_PORT`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new RiposteError('server.bad_address', `cannot listen on ${host}: no such local address`);
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${shownHost}:${boundPort}`,
    close() {
      closing ??= (async () => {
        await app.close();
        await runtime.close();
      })();
      return closing;
    },
  };
}
