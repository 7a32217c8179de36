import type { Clock, Config, Logger } from '../core/index.ts';
import {
  type ActionDefinition,
  type ActionGuard,
  type ActionRegistry,
  builtinActions,
  Engine,
  type EngineOptions,
  loadPlaybookDirectory,
  type PlaybookDirectory,
  type SecretSource,
} from '../engine/index.ts';
import type { Store } from '../store/index.ts';
import { httpRequestAction } from './http-request-action.ts';

/**
 * Wires the engine: every action Riposte offers (the engine's built-ins, `core.http_request` over the
 * SSRF-guarded client, and — as they land — each integration's actions), the playbooks folder, and the
 * secrets source. The CLI, the server and tests all build the engine through here.
 */
export function registeredActions(config: Config, clock?: Clock): ActionRegistry {
  return builtinActions().register(httpRequestAction({ allow: config.engine.http_allow, ...(clock ? { clock } : {}) }));
}

/** Secrets from the environment for now (`RIPOSTE_SECRET_<NAME>`); the secrets store comes with the integrations issue. */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): SecretSource {
  const prefix = 'RIPOSTE_SECRET_';
  return {
    names: () =>
      Object.keys(env)
        .filter((key) => key.startsWith(prefix))
        .map((key) => key.slice(prefix.length).toLowerCase()),
    resolve: async (name) => env[`${prefix}${name.toUpperCase()}`],
  };
}

export interface EngineSetup {
  engine: Engine;
  actions: ActionRegistry;
  playbooks: PlaybookDirectory;
}

export function createEngine(
  store: Store,
  config: Config,
  options: {
    logger?: Logger;
    clock?: Clock;
    runner?: EngineOptions['runner'];
    intercept?: EngineOptions['intercept'];
    /** Policy before write/destructive actions (the runtime passes the guardrails' guard). */
    guard?: ActionGuard;
    /** More actions beside the built-in ones (tests, demos). */
    actions?: ActionDefinition[];
  } = {},
): EngineSetup {
  const actions = registeredActions(config, options.clock);
  for (const action of options.actions ?? []) actions.register(action);
  const playbooks = loadPlaybookDirectory(config.engine.playbooks_dir, actions);
  const engine = new Engine({
    store,
    actions,
    playbooks,
    secrets: environmentSecrets(),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.intercept ? { intercept: options.intercept } : {}),
    ...(options.guard ? { guard: options.guard } : {}),
    // Embedded mode: this process is the only runner, so leases left by a crash are taken over at once.
    runner: { exclusive: config.database_url === undefined, ...options.runner },
  });
  return { engine, actions, playbooks };
}
