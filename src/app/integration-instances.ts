import { join } from 'node:path';
import { type Config, type Logger, notFound, RiposteError } from '../core/index.ts';
import { INTEGRATIONS, integrationById } from '../integrations/catalog.ts';
import {
  createIntegrationInstance,
  INSTANCE_NAME,
  type IntegrationInstance,
  loadMasterKey,
  type MasterKey,
  openSecret,
  ResponseCache,
  rewrapSecret,
  type SealedSecret,
  sealSecret,
} from '../integrations/sdk/index.ts';
import type { IntegrationInstanceRecord, Store } from '../store/index.ts';

/**
 * Integration instances as users manage them (CLI, REST): validated against the product's config schema
 * and secret names, secrets sealed with the master key before they reach the store and opened only to
 * build the live instance. Listing never returns secret values, only which secrets are set.
 */
export interface InstanceSummary {
  name: string;
  integration: string;
  title: string;
  config: Record<string, unknown>;
  secrets: Array<{ name: string; description: string; set: boolean }>;
  actions: string[];
  updatedAt: number;
}

export interface NewInstance {
  name: string;
  integration: string;
  config?: Record<string, unknown>;
  /** Plain values; sealed before storing. Omitted names keep their stored value on update. */
  secrets?: Record<string, string>;
}

export interface IntegrationInstanceService {
  list(): Promise<InstanceSummary[]>;
  add(instance: NewInstance): Promise<InstanceSummary>;
  remove(name: string): Promise<boolean>;
  /** Calls the instance's health check. */
  test(name: string): Promise<Awaited<ReturnType<IntegrationInstance['test']>> & { name: string }>;
  /** Live instances for the engine (secrets opened). */
  load(): Promise<IntegrationInstance[]>;
  /** Re-wraps every secret's data key under `next`; the ciphertexts are unchanged. */
  rotateMasterKey(next: MasterKey): Promise<number>;
}

export function masterKeyFor(config: Config, logger?: Logger, env: NodeJS.ProcessEnv = process.env): MasterKey {
  return loadMasterKey({
    env,
    keyFile: config.integrations.master_key_file ?? join(config.data_dir, 'master.key'),
    // Embedded mode makes its own key; a PostgreSQL deployment shares one between processes, so it must be given.
    generate: config.database_url === undefined,
    onGenerated: (path) =>
      logger?.warn({ path }, 'generated a new master key for integration secrets; back it up (losing it loses every stored secret) or set RIPOSTE_MASTER_KEY'),
  });
}

const sealContext = (instance: string, secret: string) => `${instance}/${secret}`;

export function integrationInstanceService(options: {
  store: Store;
  config: Config;
  masterKey: () => MasterKey;
  cache?: ResponseCache;
}): IntegrationInstanceService {
  const { store, config } = options;
  const cache = options.cache ?? new ResponseCache();

  function definitionOf(id: string) {
    const integration = integrationById(id);
    if (!integration)
      throw new RiposteError('input.invalid', `integration: unknown product ${JSON.stringify(id)}; known: ${INTEGRATIONS.map((i) => i.id).join(', ')}`, {
        status: 400,
      });
    return integration;
  }

  function summary(record: IntegrationInstanceRecord): InstanceSummary {
    const integration = definitionOf(record.integration);
    return {
      name: record.name,
      integration: record.integration,
      title: integration.title,
      config: record.config,
      secrets: Object.entries(integration.secrets).map(([name, description]) => ({ name, description, set: name in record.secrets })),
      actions: Object.keys(integration.actions)
        .sort()
        .map((action) => `${record.name}.${action}`),
      updatedAt: record.updatedAt,
    };
  }

  function live(record: IntegrationInstanceRecord): IntegrationInstance {
    const master = options.masterKey();
    const secrets = Object.fromEntries(
      Object.entries(record.secrets).map(([name, sealed]) => [name, openSecret(master, sealContext(record.name, name), sealed as SealedSecret)]),
    );
    return createIntegrationInstance(
      definitionOf(record.integration),
      { name: record.name, config: record.config, secrets },
      { guard: { allow: config.integrations.http_allow }, timeoutMs: config.integrations.timeout, cache },
    );
  }

  return {
    async list() {
      return (await store.integrations.list()).map(summary);
    },
    async add(input) {
      if (!INSTANCE_NAME.test(input.name))
        throw new RiposteError(
          'input.invalid',
          `name: ${JSON.stringify(input.name)} must be snake_case letters, digits and _ (it prefixes the actions: ${input.name}.ip_report)`,
          { status: 400 },
        );
      if (['core', 'intel', 'cases', 'edl'].includes(input.name))
        throw new RiposteError('input.invalid', `name: ${input.name} is reserved for built-in actions`, { status: 400 });
      const integration = definitionOf(input.integration);
      const existing = await store.integrations.get(input.name);
      // An update changes only what it names: `add vt --secret-env …` keeps the base URL set before.
      const merged = { ...(existing?.integration === input.integration ? existing.config : {}), ...(input.config ?? {}) };
      const parsed = integration.config.safeParse(merged);
      if (!parsed.success)
        throw new RiposteError('input.invalid', `config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`, {
          status: 400,
        });
      const unknown = Object.keys(input.secrets ?? {}).filter((name) => !(name in integration.secrets));
      if (unknown.length > 0)
        throw new RiposteError(
          'input.invalid',
          `secrets: ${integration.id} has no secret ${unknown.join(', ')}; it takes ${Object.keys(integration.secrets).join(', ')}`,
          { status: 400 },
        );
      if (existing && existing.integration !== input.integration)
        throw new RiposteError('conflict', `instance ${input.name} is a ${existing.integration} instance; remove it first`, { status: 409 });
      const master = options.masterKey();
      const secrets: Record<string, unknown> = { ...(existing?.secrets ?? {}) };
      for (const [name, value] of Object.entries(input.secrets ?? {})) secrets[name] = sealSecret(master, sealContext(input.name, name), value);
      cache.forgetInstance(input.name);
      return summary(await store.integrations.put({ name: input.name, integration: input.integration, config: merged, secrets }));
    },
    async remove(name) {
      cache.forgetInstance(name);
      return store.integrations.delete(name);
    },
    async test(name) {
      const record = await store.integrations.get(name);
      if (!record) throw notFound('integration instance', name);
      return { name, ...(await live(record).test()) };
    },
    async load() {
      return (await store.integrations.list()).map(live);
    },
    async rotateMasterKey(next) {
      const current = options.masterKey();
      let count = 0;
      await store.transaction(async (tx) => {
        for (const record of await tx.integrations.list()) {
          const secrets = Object.fromEntries(
            Object.entries(record.secrets).map(([name, sealed]) => {
              count++;
              return [name, rewrapSecret(current, next, sealContext(record.name, name), sealed as SealedSecret)];
            }),
          );
          await tx.integrations.put({ ...record, secrets });
        }
      });
      return count;
    },
  };
}
