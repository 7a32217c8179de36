import type { FastifyInstance } from 'fastify';
import { type AuthService, authPolicyFromConfig, createAuthService } from '../auth/index.ts';
import type { CasesService } from '../cases/index.ts';
import { type Config, createLogger, type Logger, RiposteError } from '../core/index.ts';
import { type ActionDefinition, type Engine, type LoadResult, type PlaybookDirectory, parsePlaybookYaml } from '../engine/index.ts';
import { createGuardedHttpClient } from '../integrations/sdk/http/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import { IndicatorStore, loadAttackCatalog, TaxiiFeeds, TaxiiService } from '../intel/index.ts';
import { buildServer, LiveHub, type ServerServices } from '../server/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { AiService, buildLlmInstance } from './ai/index.ts';
import { ApprovalChannels } from './approval-channels.ts';
import { auditEventFromAuth, buildCasesService, webhookCredentialsFrom } from './cases.ts';
import { EdlService } from './edl.ts';
import { createEngine, environmentSecrets, knownGoodLists } from './engine-setup.ts';
import { Guardrails } from './guardrails.ts';
import { HuntService } from './hunt-service.ts';
import { wireIndicatorSightings } from './indicator-sightings.ts';
import { type IntegrationInstanceService, integrationInstanceService, masterKeyFor } from './integration-instances.ts';
import { attackCoverage, caseStixBundle } from './intel.ts';
import { LiveRelay, storeWithApprovalEvents, wireLiveUpdates } from './live-updates.ts';
import { MAX_REPORT_BYTES, PhishingIntake, phishingSettings } from './phishing-intake.ts';
import { PhishingMailboxPoller } from './phishing-mailbox-poller.ts';
import { wirePhishingTriggers, wireTriggers } from './triggers.ts';
import { VERSION } from './version.ts';

/**
 * The composition root: it opens the store, builds cases, auth and the engine, and wires case and alert
 * events to playbook triggers (triggers.ts); integrations and the runner's policy check join here too. The CLI and
 * tests build a Riposte through here so that production and tests wire things identically.
 */
const EDL_KEEP_EXPIRED_MS = 7 * 86_400_000;

export interface Runtime {
  config: Config;
  logger: Logger;
  store: Store;
  cases: CasesService;
  auth: AuthService;
  /** The playbook engine; its runner is started by `startServer` (the embedded mode). */
  engine: Engine;
  playbooks: PlaybookDirectory;
  /** Configured integration instances (their actions are registered with the engine at start). */
  integrations: IntegrationInstanceService;
  /** Policy before every write/destructive action, and the approvals that release held actions. */
  guardrails: Guardrails;
  /** Sends approval requests and on-call pages to Slack, Teams, e-mail and PagerDuty (durable outbox). */
  approvalChannels: ApprovalChannels;
  /** Indicators: the in-memory index, loaded from and written through to the store. */
  indicators: IndicatorStore;
  /** The TAXII 2.1 server's logic behind /taxii2/. */
  taxii: TaxiiService;
  /** Scheduled TAXII feeds (intel.feeds); `startServer` starts them, like the runner. */
  feeds: TaxiiFeeds;
  /** Run, case and approval changes for the UI's live stream. */
  live: LiveHub;
  /** Validates playbook YAML with this runtime's actions and playbooks (the UI's editor). */
  validatePlaybook: (yaml: string) => LoadResult;
  /** The External Dynamic Lists Riposte serves to firewalls (`GET /edl/:list`, `edl.*` actions). */
  edl: EdlService;
  /** Hunt runs across the fleet through the configured EDR instances, and their staged remediation. */
  hunts: HuntService;
  /** Reported phishing: stored, analysed, clustered into cases; each analysis starts `phishing.reported` playbooks. */
  phishing: PhishingIntake;
  /** Polls the reporting mailboxes (phishing.mailboxes); `startServer` starts it, like the runner. */
  phishingPoller: PhishingMailboxPoller;
  /** AI assistance (the `ai` block): summaries, explanations, next steps and playbook drafts; never starts anything. */
  ai: AiService;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Where RIPOSTE_ADMIN_PASSWORD is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Shows the first-start admin password to the operator. Defaults to stderr; it never goes through
   * the logger, so it cannot land in a log pipeline.
   */
  announce?: (text: string) => void;
  /** Actions registered beside the built-in ones (tests and demos: loopback side effects). */
  actions?: ActionDefinition[];
  /** Engine runner tuning (tests: a short poll interval). */
  runner?: { pollMs?: number };
  /** Integration instances beside the stored ones, never persisted (`riposte demo` points them at the lab). */
  instances?: IntegrationInstance[];
  /** Hunt run lease tuning (tests: a short lease so a killed process's runs are taken over quickly). */
  hunts?: { leaseMs?: number; approvalPollMs?: number };
}

export async function openRuntime(config: Config, logger: Logger = createLogger({ level: config.log.level }), options: RuntimeOptions = {}): Promise<Runtime> {
  const store = await openStore({
    databaseUrl: config.database_url,
    schema: config.database_schema,
    dataDir: config.data_dir,
    sqliteMaxBytes: config.database_sqlite_max_size,
  });
  try {
    const cases = buildCasesService(store, config, logger);
    // Sign-ins, user and token changes go on the same tamper-evident audit chain as case changes.
    const auth = createAuthService({
      store,
      policy: authPolicyFromConfig(config.auth),
      logger,
      onEvent: (event) => cases.recordAudit(auditEventFromAuth(event)),
    });
    await createInitialAdmin(auth, options);
    let masterKey: ReturnType<typeof masterKeyFor> | undefined;
    // Loaded on first need, so a deployment without integrations never creates a key file.
    const integrations = integrationInstanceService({ store, config, masterKey: () => (masterKey ??= masterKeyFor(config, logger, options.env)) });
    // Given instances replace stored ones of the same name (the demo's lab instances win over a configured one),
    // for every consumer alike: the engine's actions, the guardrails' CMDB lookup and the hunts' EDRs.
    const given = options.instances ?? [];
    const withGiven = (stored: readonly IntegrationInstance[]) => [...stored.filter((i) => !given.some((extra) => extra.name === i.name)), ...given];
    const activeInstances = withGiven(await integrations.load());
    // Guardrails saves approvals through a store that also writes the messages they owe (same transaction).
    const approvalChannels = new ApprovalChannels({ config, logger, cases });
    const live = new LiveHub();
    // On PostgreSQL the stream also carries what workers and other API processes do.
    const relay = new LiveRelay({ store, hub: live, logger });
    const guardrails = await Guardrails.create({
      store: storeWithApprovalEvents(approvalChannels.storeWithOutbox(store), relay),
      config,
      cases,
      auth,
      logger,
      integrations: activeInstances,
    });
    approvalChannels.attach({
      createLink: (id, approver, decision) => guardrails.createLink(id, approver, decision),
      reviewUrl: (id) => guardrails.reviewUrl(id),
    });
    const hunts = new HuntService({
      cases,
      logger,
      instances: async () => withGiven(await integrations.load()),
      criticality: async (hostname) => (await guardrails.assetOf(hostname))?.criticality,
      store,
      ...(options.hunts ? { runs: options.hunts } : {}),
    });
    const { engine, playbooks, actions } = createEngine(store, config, {
      logger,
      integrations: activeInstances,
      hunts,
      guard: guardrails.guard,
      cases,
      phishing: { deps: { store, cases, listTypes: config.edl.lists }, blockTtlMs: config.phishing.block_ttl },
      ...(options.actions ? { actions: options.actions } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
    });
    guardrails.attach(engine);
    guardrails.startSweeper();
    approvalChannels.start();
    // Playbook approval steps go to the same channels (the engine does not know them; app/ watches it).
    const unwatchSteps = approvalChannels.watchEngine(engine);
    // Compile the known-good lists now rather than inside the first alert's verdict step (seconds under load).
    knownGoodLists(config);
    // Expired EDL entries are no longer served; they are kept a week for `riposte edl list`, then dropped.
    const edlPurge = setInterval(() => {
      store.edl.purgeExpired(Date.now() - EDL_KEEP_EXPIRED_MS).catch((error: unknown) => logger.warn({ err: error }, 'edl: purging expired entries failed'));
    }, 3_600_000);
    edlPurge.unref();
    const unwireTriggers = wireTriggers({ cases, engine, playbooks, logger });
    const unwireLive = wireLiveUpdates({ hub: relay, engine, cases });
    await relay.start();
    const phishing = new PhishingIntake({ store, cases, logger, analyze: { settings: phishingSettings(config) } });
    const unwirePhishing = wirePhishingTriggers({ intake: phishing, cases, engine, playbooks, logger });
    const phishingPoller = new PhishingMailboxPoller({
      sources: config.phishing.mailboxes,
      imap: config.phishing.imap,
      secret: (name) => environmentSecrets(options.env ?? process.env).resolve(name),
      allow: config.integrations.http_allow,
      instances: async () => activeInstances,
      intake: phishing,
      store,
      logger,
      intervalMs: config.phishing.poll_interval,
    });
    for (const c of config.intel.taxii.collections)
      await store.intel.putCollection({
        id: c.id,
        apiRoot: c.api_root,
        title: c.title,
        description: c.description ?? null,
        alias: c.alias ?? null,
        readAccess: c.read,
        writeAccess: c.write,
      });
    const indicators = new IndicatorStore({ store, logger });
    await indicators.load();
    const unwireSightings = wireIndicatorSightings({ cases, indicators, logger });
    const taxii = new TaxiiService({
      store,
      indicators,
      title: config.intel.taxii.title,
      ...(config.intel.taxii.contact ? { contact: config.intel.taxii.contact } : {}),
      maxContentLength: config.intel.taxii.max_content_length,
      defaultPageSize: config.intel.taxii.page_size,
      maxPageSize: config.intel.taxii.max_page_size,
    });
    const feeds = new TaxiiFeeds({
      feeds: config.intel.feeds,
      store,
      indicators,
      // Feeds are outbound HTTP like any integration: same SSRF guard, same allow-list and timeout.
      http: createGuardedHttpClient({ allow: config.integrations.http_allow, timeoutMs: config.integrations.timeout }),
      ...(options.env ? { env: options.env } : {}),
      logger,
    });
    const validatePlaybook = (yaml: string) => parsePlaybookYaml(yaml, { actions, playbooks });
    const env = options.env ?? process.env;
    const llm = buildLlmInstance(config, env);
    const ai = new AiService({
      config,
      store,
      cases,
      llm,
      attack: loadAttackCatalog(),
      playbooks,
      actions,
      validatePlaybook,
      indicators,
      secretValues: () => knownSecretValues(config, env),
      logger,
    });
    return {
      config,
      logger,
      store,
      cases,
      hunts,
      ai,
      auth,
      engine,
      playbooks,
      integrations,
      guardrails,
      approvalChannels,
      indicators,
      taxii,
      feeds,
      live,
      validatePlaybook,
      edl: new EdlService({ store, cases, listTypes: config.edl.lists }),
      phishing,
      phishingPoller,
      async close() {
        unwireLive();
        unwatchSteps();
        await feeds.stop();
        await phishingPoller.stop();
        unwirePhishing();
        unwireSightings();
        clearInterval(edlPurge);
        unwireTriggers();
        guardrails.stop();
        await hunts.runs.stop();
        await approvalChannels.stop();
        await engine.stop();
        await cases.drain();
        await relay.stop();
        await store.close();
      },
    };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

/**
 * Secret values Riposte knows, so the AI service can keep them out of prompts and stored exchanges: every
 * RIPOSTE_SECRET_* value and the secrets held in the config.
 */
function knownSecretValues(config: Config, env: NodeJS.ProcessEnv): string[] {
  const values = Object.entries(env)
    .filter(([key]) => key.startsWith('RIPOSTE_SECRET_'))
    .map(([, value]) => value ?? '');
  values.push(
    config.slack.bot_token ?? '',
    config.slack.signing_secret ?? '',
    config.approvals.signing_secret ?? '',
    config.email.smtp?.password ?? '',
    env.RIPOSTE_ADMIN_PASSWORD ?? '',
    env.RIPOSTE_MASTER_KEY ?? '',
    ...Object.values(config.webhooks).flatMap((source) => (typeof source === 'object' && source !== null ? [...source.tokens, ...source.hmac_secrets] : [])),
  );
  return [...new Set(values.filter((value) => value.length >= 6))];
}

/** First start: an `admin` user, so there is someone to sign in as. Nothing else is forced. */
async function createInitialAdmin(auth: AuthService, options: RuntimeOptions): Promise<void> {
  const env = options.env ?? process.env;
  const announce = options.announce ?? ((text: string) => process.stderr.write(text));
  const given = env.RIPOSTE_ADMIN_PASSWORD;
  const created = await auth.ensureInitialAdmin(given === '' ? undefined : given);
  if (created === undefined) return;
  if (created.generated) {
    announce(
      `riposte: first start: created user "${created.name}" with one-time password\n\n    ${created.password}\n\n` +
        'riposte: it is shown only now; sign in and change it (POST /api/v1/auth/password), or reset it with `riposte users passwd admin`\n',
    );
  } else {
    announce(`riposte: first start: created user "${created.name}" with the password from RIPOSTE_ADMIN_PASSWORD\n`);
  }
}

/** What the HTTP layer needs from a runtime; tests use it to build a server wired exactly like production. */
export function serverServices(runtime: Runtime): ServerServices {
  return {
    store: runtime.store,
    config: runtime.config,
    logger: runtime.logger,
    version: VERSION,
    auth: runtime.auth,
    cases: runtime.cases,
    webhookCredentials: webhookCredentialsFrom(runtime.store, runtime.config),
    engine: runtime.engine,
    playbooks: runtime.playbooks,
    integrations: runtime.integrations,
    approvals: runtime.guardrails,
    taxii: runtime.taxii,
    indicators: runtime.indicators,
    hunts: runtime.hunts,
    live: runtime.live,
    validatePlaybook: runtime.validatePlaybook,
    phishing: { maxBytes: MAX_REPORT_BYTES, submit: (report, actor) => runtime.phishing.submit(report, actor) },
    intel: {
      attack: loadAttackCatalog(),
      caseBundle: (ref) => caseStixBundle(runtime.cases, loadAttackCatalog(), ref),
      coverage: () => attackCoverage(runtime.store, loadAttackCatalog(), runtime.playbooks),
    },
    edl: runtime.edl,
    ai: runtime.ai,
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting connections, drains in-flight requests, then closes the runtime. */
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, listen: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const app = await buildServer(serverServices(runtime));
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
  if (runtime.config.engine.runner) await runtime.engine.start();
  // Hunt runs live in the server processes: continue those a stopped process left (one process per run, by lease).
  await runtime.hunts.runs.startResuming({ exclusive: runtime.config.database_url === undefined });
  if (runtime.config.intel.feeds.length > 0) runtime.feeds.start();
  runtime.phishingPoller.start();
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
