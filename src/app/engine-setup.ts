import type { CasesService } from '../cases/index.ts';
import { type Clock, type Config, createLogger, type Logger, RiposteError } from '../core/index.ts';
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
import { INTEGRATIONS } from '../integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../integrations/sdk/index.ts';
import { KnownGoodLists } from '../intel/index.ts';
import type { Store } from '../store/index.ts';
import { caseActions } from './case-actions.ts';
import { buildCasesService } from './cases.ts';
import { edlActions, type ResponseDeps } from './edl.ts';
import { httpRequestAction } from './http-request-action.ts';
import { huntActions } from './hunt-actions.ts';
import type { HuntService } from './hunt-service.ts';
import { integrationActions, verdictAction } from './integration-actions.ts';
import { type PhishingActionBinding, phishingActions } from './phishing-actions.ts';

/**
 * Wires the engine: every action Riposte offers (the engine's built-ins, `core.http_request` over the
 * SSRF-guarded client, and — as they land — each integration's actions), the playbooks folder, and the
 * secrets source. The CLI, the server and tests all build the engine through here.
 */
export function registeredActions(
  config: Config,
  clock?: Clock,
  integrations: readonly IntegrationInstance[] = [],
  response: () => ResponseDeps = noResponseDeps,
  hunts?: HuntService,
  phishing: PhishingActionBinding = {},
): ActionRegistry {
  const registry = builtinActions()
    .register(httpRequestAction({ allow: config.engine.http_allow, ...(clock ? { clock } : {}) }))
    .register(verdictAction(() => knownGoodLists(config)));
  // The phishing.* actions validate everywhere and act where the runtime binds the store and cases.
  for (const action of phishingActions(phishing)) registry.register(action);
  for (const action of integrationActions(withDefaultInstances(integrations))) registry.register(action);
  // Riposte's own response and case actions (the EDL it serves, the case a run records on).
  for (const action of [...edlActions(response), ...caseActions(response)]) registry.register(action);
  for (const action of huntActions(hunts)) registry.register(action);
  return registry;
}

/** Validation-only registries (playbook validate/test) know these actions but cannot run them. */
function noResponseDeps(): ResponseDeps {
  throw new RiposteError('engine.unavailable', 'cases and EDL actions need a store: run the playbook under riposte serve, worker or run');
}

/**
 * Every product gets an instance named after it even before it is configured, so playbooks that say
 * `virustotal.ip_report` validate (and their tests run with mocks) everywhere; calling it unconfigured is a
 * clear `integration.secret_missing` on the step.
 */
function withDefaultInstances(configured: readonly IntegrationInstance[]): IntegrationInstance[] {
  const names = new Set(configured.map((instance) => instance.name));
  const defaults = INTEGRATIONS.filter((integration) => !names.has(integration.id)).map((integration) =>
    createIntegrationInstance(integration, { name: integration.id, config: {}, secrets: {} }),
  );
  return [...configured, ...defaults];
}

const listsByConfig = new WeakMap<Config, KnownGoodLists>();

/** The warning lists take a moment to compile, so one set per config, built on first use. */
export function knownGoodLists(config: Config): KnownGoodLists {
  let lists = listsByConfig.get(config);
  if (!lists) {
    lists = KnownGoodLists.load({ allow: { partners: config.intel.partners, own: config.intel.own } });
    listsByConfig.set(config, lists);
  }
  return lists;
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
    /** Registers more actions (an embedding application's own, or a test's instrumented effect). */
    extendActions?: (actions: ActionRegistry) => void;
    /** Configured integration instances, registered as `<instance>.<action>`. */
    integrations?: readonly IntegrationInstance[];
    /** Policy before write/destructive actions (the runtime passes the guardrails' guard). */
    guard?: ActionGuard;
    /** More actions beside the built-in ones (tests, demos). */
    actions?: ActionDefinition[];
    /** The cases service `cases.*` and `edl.*` actions record on (built from the store on first use when absent). */
    cases?: CasesService;
    /** Hunt runs, for the `hunt.*` actions (present in the server process). */
    hunts?: HuntService;
    /** Binds the phishing.* actions to the store and cases (the runtime sets it). */
    phishing?: PhishingActionBinding;
  } = {},
): EngineSetup {
  let cases = options.cases;
  const response = (): ResponseDeps => {
    cases ??= buildCasesService(store, config, options.logger ?? createLogger({ level: config.log.level }), options.clock);
    return { store, cases, listTypes: config.edl.lists, ...(options.clock ? { clock: options.clock } : {}) };
  };
  const actions = registeredActions(config, options.clock, options.integrations, response, options.hunts, options.phishing);
  for (const action of options.actions ?? []) actions.register(action);
  options.extendActions?.(actions);
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
