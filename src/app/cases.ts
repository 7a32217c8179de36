import type { AuthEvent } from '../auth/index.ts';
import {
  CasesService,
  type CorrelationRule,
  DEFAULT_CORRELATION_RULES,
  DEFAULT_SLA,
  type Severity,
  type SlaTargets,
  type WebhookCredentials,
} from '../cases/index.ts';
import type { Actor, Clock, Config, Logger } from '../core/index.ts';
import { loadAttackCatalog } from '../intel/index.ts';
import type { Store } from '../store/index.ts';

/** Builds the cases service from configuration, handing it the ATT&CK catalog from intel (cases may not import intel). */
export function buildCasesService(store: Store, config: Config, logger: Logger, clock?: Clock): CasesService {
  const catalog = loadAttackCatalog();
  const correlation: CorrelationRule[] = config.cases.correlation
    ? config.cases.correlation.map((r) => ({ id: r.id, by: r.by, observable_types: r.observable_types, sources: r.sources, window_ms: r.window }))
    : DEFAULT_CORRELATION_RULES;
  const sla = Object.fromEntries(
    Object.entries(DEFAULT_SLA).map(([severity, defaults]) => {
      const given = config.cases.sla?.[severity as Severity];
      const pick = (value: number | null | undefined, fallback: number | null) => (value === undefined ? fallback : value);
      return [
        severity,
        {
          acknowledge_ms: pick(given?.acknowledge, defaults.acknowledge_ms),
          contain_ms: pick(given?.contain, defaults.contain_ms),
          resolve_ms: pick(given?.resolve, defaults.resolve_ms),
        },
      ];
    }),
  ) as Record<Severity, SlaTargets>;
  return new CasesService({
    store,
    clock,
    logger,
    techniqueExists: catalog.techniqueExists,
    correlation,
    sla,
    evidenceMaxBytes: config.cases.evidence_max_bytes,
    intakeMaxQueue: config.cases.intake.max_queue,
    intakeBatchSize: config.cases.intake.batch_size,
  });
}

const CACHE_MS = 5000;

/**
 * Webhook secrets come from config (`webhooks.<source>.tokens|hmac_secrets`) and, so they can be rotated
 * without a restart, from the settings repository key `webhooks.<source>` ({tokens, hmac_secrets}); both
 * are accepted. Cached for a few seconds so a flood of alerts does not become a flood of reads.
 */
export function webhookCredentialsFrom(store: Store, config: Config): (source: string) => Promise<WebhookCredentials> {
  const cache = new Map<string, { at: number; value: WebhookCredentials }>();
  return async (source) => {
    const hit = cache.get(source);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
    const fromConfig = (config.webhooks as unknown as Record<string, { tokens: string[]; hmac_secrets: string[] } | undefined>)[source];
    const stored = await store.settings.get<{ tokens?: unknown; hmac_secrets?: unknown }>(`webhooks.${source}`);
    const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : []);
    const value = {
      tokens: [...(fromConfig?.tokens ?? []), ...list(stored?.tokens)],
      hmacSecrets: [...(fromConfig?.hmac_secrets ?? []), ...list(stored?.hmac_secrets)],
    };
    cache.set(source, { at: Date.now(), value });
    return value;
  };
}

/** An auth event as an audit-chain record: who acted, on which user, what happened. */
export function auditEventFromAuth(event: AuthEvent): { actor: Actor; action: string; target: string; details: Record<string, unknown> } {
  const actor: Actor =
    event.by.userId === null ? { kind: 'system', id: event.by.name, name: event.by.name } : { kind: 'user', id: event.by.userId, name: event.by.name };
  return { actor, action: `auth.${event.type}`, target: `user:${event.user}`, details: event.details };
}
