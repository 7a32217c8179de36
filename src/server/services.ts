import type { AiService, Guardrails, HuntService } from '../app/index.ts';
import type { AuthService } from '../auth/index.ts';
import type { CasesService, WebhookCredentials } from '../cases/index.ts';
import type { Actor, Config, Logger } from '../core/index.ts';
import type { Engine, LoadResult, PlaybookDirectory } from '../engine/index.ts';
import type { AttackCatalog, IndicatorStore, TaxiiService } from '../intel/index.ts';
import type { Store } from '../store/index.ts';
import type { LiveEvents } from './live.ts';

/**
 * What the HTTP layer is handed by the composition root (`app/`). Each module adds its service here as
 * it lands (cases, engine, auth …) so that routes call module APIs and never build them.
 */
export interface ServerServices {
  store: Store;
  config: Config;
  logger: Logger;
  version: string;
  /** Playbook runs: start, inspect, cancel, approvals (the runs routes are registered when present). */
  engine?: Engine;
  /** The playbooks folder, by id. */
  playbooks?: PlaybookDirectory;
  /** Alerts, cases, observables and the audit chain; app/ always provides it (tests of other areas may not). */
  cases?: CasesService;
  /** Secrets each webhook source may authenticate with (config plus the settings repository). */
  webhookCredentials?: (source: string) => Promise<WebhookCredentials>;
  /** Policy approvals: decide, edit, break-glass, one-time links, Slack (app/'s guardrails). */
  approvals?: Guardrails;
  /** Users, sessions, API tokens and permissions: the server authenticates every request through it. */
  auth: AuthService;
  /** Integration instances (app/integration-instances.ts); the integrations routes are registered when present. */
  integrations?: IntegrationsApi;
  /** The TAXII 2.1 server's logic (the /taxii2/ routes are registered when present). */
  taxii?: TaxiiService;
  /** Indicators: the in-memory index backed by the store. */
  indicators?: IndicatorStore;
  /** ATT&CK catalog, case STIX export and coverage (the intel routes are registered when present). */
  intel?: IntelApi;
  /** Run, case and approval changes for the UI's server-sent events stream (`GET /api/v1/stream`). */
  live?: LiveEvents;
  /** Validates playbook YAML against the registered actions and the loaded playbooks (the UI's editor). */
  validatePlaybook?: (yaml: string) => LoadResult;
  /** The External Dynamic Lists Riposte serves to firewalls (the EDL route is registered when present). */
  edl?: EdlApi;
  /** Hunt runs and their staged remediation (the hunts routes are registered when present). */
  hunts?: HuntService;
  /** Reported-phishing intake (app/phishing-intake.ts); the phishing routes are registered when present. */
  phishing?: PhishingApi;
  /** AI assistance (app/ai); the AI routes are registered when present (they answer ai.disabled when it is off). */
  ai?: AiService;
}

export interface PhishingApi {
  /** Largest report accepted, in bytes. */
  maxBytes: number;
  submit(
    report: { content: Uint8Array; filename: string; reporter: string; source: string },
    actor: Actor,
  ): Promise<{ report_id: string; status: 'analysed' | 'failed'; error?: { code: string; message: string }; analyses: unknown[] }>;
}

export interface IntelApi {
  attack: AttackCatalog;
  /** A case (id or number) as a STIX 2.1 bundle. */
  caseBundle(ref: string): Promise<{ type: 'bundle'; id: string; objects: Array<Record<string, unknown>> }>;
  coverage(): Promise<unknown>;
}

export interface EdlApi {
  /** The list as firewalls see it: one value per line, expired entries left out. */
  render(list: string): Promise<string>;
}

export interface IntegrationInstanceView {
  name: string;
  integration: string;
  title: string;
  config: Record<string, unknown>;
  secrets: Array<{ name: string; description: string; set: boolean }>;
  actions: string[];
  updatedAt: number;
}

export interface IntegrationsApi {
  list(): Promise<IntegrationInstanceView[]>;
  add(instance: { name: string; integration: string; config?: Record<string, unknown>; secrets?: Record<string, string> }): Promise<IntegrationInstanceView>;
  remove(name: string): Promise<boolean>;
  test(name: string): Promise<{ name: string; ok: boolean; ms: number; action?: string; error?: string; code?: string }>;
}
