import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './clock.ts';
import { RiposteError } from './errors.ts';
import { OBSERVABLE_TYPES } from './observables.ts';

/**
 * Configuration comes from built-in defaults, then an optional `riposte.yaml`, then `RIPOSTE_*`
 * environment variables (highest). Every value is validated once at start; an error names the key,
 * where the value came from and what is expected, so a typo never surfaces later as a strange failure.
 * The keys are documented in docs/configuration.md.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1048576, gb: 1e9, gib: 1073741824 };

/** "1MiB", "512kb", "2048" → bytes; undefined if not a size. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? '').toLowerCase() || 'b';
  const factor = SIZE_UNITS[unit];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be from 0 to 65535')
  .max(65535, 'must be from 0 to 65535');

const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 1MiB, 512KiB or a number of bytes' });
    return z.NEVER;
  }
  return bytes;
});

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30s, 15m, 12h or 7d' });
    return z.NEVER;
  }
  return ms;
});

/** A list given as YAML list or as comma-separated text (environment variables). */
const secretList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== ''));

const webhookSource = z
  .object({
    /** Shared tokens accepted in X-Riposte-Token (or ?token=). Two during a rotation. */
    tokens: secretList.default([]),
    /** HMAC-SHA256 secrets for X-Riposte-Signature. Two during a rotation. */
    hmac_secrets: secretList.default([]),
  })
  .strict()
  .prefault({});

const SEVERITY_NAMES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
const slaTargets = z
  .object({ acknowledge: duration.nullable().optional(), contain: duration.nullable().optional(), resolve: duration.nullable().optional() })
  .strict();
const trustProxy = z.union([z.boolean(), z.string(), z.array(z.string())]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const text = Array.isArray(value) ? '' : value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  const list = (Array.isArray(value) ? value : value.split(',')).map((part) => part.trim()).filter(Boolean);
  if (list.length === 0 || list.some((part) => !/^[0-9a-f:.]+(\/\d{1,3})?$/i.test(part))) {
    ctx.addIssue({ code: 'custom', message: 'must be true, false, or addresses/CIDRs such as 127.0.0.1,10.0.0.0/8' });
    return z.NEVER;
  }
  return list;
});

const slackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123ABCD (not a #name)');

/** true/false from YAML, or "true"/"false"/"1"/"0" from an environment variable. */
const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

const positiveInt = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1');

export const ConfigSchema = z
  .object({
    data_dir: z.string().min(1, 'must not be empty').default('./riposte-data'),
    database_url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite store)')
      .optional(),
    /** PostgreSQL schema to keep Riposte's tables in (default: the connection's search_path, normally public). */
    database_schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and _ (at most 63), starting with a letter or _')
      .optional(),
    /**
     * Largest size the embedded SQLite database may grow to (bytes, or "2GB"): writes past it fail with
     * 507 store.full instead of filling the host's disk. Unset: no cap (the disk is the limit).
     */
    database_sqlite_max_size: size.optional(),
    server: z
      .object({
        host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
        port: port.default(8088),
        body_limit: size.default(1048576),
        /** Base URL people reach the server at (links in chat, mail and the CLI). */
        public_url: z.url('must be an absolute URL such as https://soar.example.com').optional(),
        /**
         * Reverse proxies whose X-Forwarded-For/-Proto to believe: addresses or CIDRs (list or comma-separated),
         * or true for any. Unset: the TCP peer is the client (sign-in limits and logs use it).
         */
        trust_proxy: trustProxy.optional(),
      })
      .strict()
      .prefault({}),
    /** Sign-in policy; see docs/security.md. Durations are milliseconds once parsed. */
    auth: z
      .object({
        /** A UI session ends after this long without a request. */
        session_idle_timeout: duration.default(30 * 60_000),
        /** A UI session ends this long after sign-in, however active. */
        session_max_age: duration.default(12 * 3_600_000),
        /** Consecutive failed sign-ins that lock an account. */
        lockout_threshold: positiveInt.default(5),
        /** How long a locked account stays locked (an admin can unlock it sooner). */
        lockout_duration: duration.default(15 * 60_000),
        /** Sign-in attempts allowed per user name and client address within login_rate_window. */
        login_rate_limit: positiveInt.default(10),
        login_rate_window: duration.default(5 * 60_000),
      })
      .strict()
      .prefault({}),
    engine: z
      .object({
        /** Folder of playbook YAML files (and their *.test.yml). */
        playbooks_dir: z.string().min(1, 'must not be empty').default('./playbooks'),
        /** CIDRs, addresses or host names (`*.corp.example`) that core.http_request may reach although private. */
        http_allow: z
          .union([z.array(z.string()), z.string()])
          .transform((value) =>
            typeof value === 'string'
              ? value
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
              : value,
          )
          .default([]),
        /** Run the embedded playbook runner inside `riposte serve` (turn off when separate workers run playbooks). */
        runner: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    cases: z
      .object({
        /** Largest evidence attachment (bytes or a size such as 25MiB). */
        evidence_max_bytes: size.default(25 * 1048576),
        intake: z
          .object({
            /** Alerts waiting to be stored before intake answers 429. */
            max_queue: z.coerce.number().int().min(1, 'must be at least 1').default(10_000),
            /** Alerts written per group-commit transaction. */
            batch_size: z.coerce.number().int().min(1, 'must be at least 1').max(5000, 'must be at most 5000').default(500),
          })
          .strict()
          .prefault({}),
        /** Correlation rules in order; the first that matches an open case wins (docs/cases.md). */
        correlation: z
          .array(
            z
              .object({
                id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be lower-case letters, digits, ".", "_" or "-"'),
                by: z.array(z.enum(['rule', 'source', 'observable'])).min(1, 'must name at least one of rule, source, observable'),
                observable_types: z.array(z.enum(OBSERVABLE_TYPES)).optional(),
                sources: z.array(z.enum(['generic', 'splunk', 'elastic', 'sentinel'])).optional(),
                window: duration.default(86_400_000),
              })
              .strict(),
          )
          .optional(),
        /** SLA targets per severity (acknowledge, contain, resolve); unspecified ones keep their defaults. */
        sla: z.partialRecord(z.enum(SEVERITY_NAMES), slaTargets).optional(),
      })
      .strict()
      .prefault({}),
    webhooks: z
      .object({
        /** Allowed clock difference for signed webhooks; also how long delivery ids are remembered. */
        max_skew: duration.default(300_000),
        generic: webhookSource,
        splunk: webhookSource,
        elastic: webhookSource,
        sentinel: webhookSource,
      })
      .strict()
      .prefault({}),
    /** Integration instances; see docs/integrations.md. */
    integrations: z
      .object({
        /** File holding the master key that wraps secrets' data keys (default <data_dir>/master.key); RIPOSTE_MASTER_KEY wins. */
        master_key_file: z.string().min(1, 'must not be empty').optional(),
        /** Private addresses or host names integrations may reach (on-prem MISP, the lab simulators). */
        http_allow: z
          .union([z.array(z.string()), z.string()])
          .transform((value) =>
            typeof value === 'string'
              ? value
                  .split(',')
                  .map((part) => part.trim())
                  .filter(Boolean)
              : value,
          )
          .default([]),
        /** Per-request timeout for vendor calls. */
        timeout: duration.default(15_000),
      })
      .strict()
      .prefault({}),
    /** Email (phishing) analysis: who is protected and whose headers are believed; see docs/phishing.md. */
    phishing: z
      .object({
        /** The organisation's own domains: impersonation of these is the most serious sign. */
        own_domains: z.array(z.string().min(1, 'must not be empty')).default([]),
        /** Other domains to guard against lookalikes (brands, partners, banks). */
        protected_domains: z.array(z.string().min(1, 'must not be empty')).default([]),
        /** People whose names in a display name from elsewhere mean impersonation. */
        vips: z.array(z.object({ name: z.string().min(1, 'must not be empty'), emails: z.array(z.string()).default([]) }).strict()).default([]),
        /** The organisation's names as people write them ("Example Corp"). */
        organisation_names: z.array(z.string().min(1, 'must not be empty')).default([]),
        /** authserv-ids whose Authentication-Results headers are believed (your own receiving MTAs). */
        trusted_authserv_ids: z.array(z.string().min(1, 'must not be empty')).default([]),
        /** Headers that mark an authorised phishing simulation (value omitted: any value). */
        simulation_headers: z.array(z.object({ name: z.string().min(1, 'must not be empty'), value: z.string().optional() }).strict()).default([]),
        /** Free-mail domains added to the built-in list. */
        freemail_domains: z.array(z.string().min(1, 'must not be empty')).default([]),
        /** Reporting mailboxes polled through an msgraph_mail integration instance (docs/phishing.md). */
        mailboxes: z
          .array(
            z
              .object({
                integration: z.string().min(1, 'must name an msgraph_mail integration instance'),
                mailbox: z.string().min(3, 'must be a mailbox address or user id'),
                folder: z.string().min(1).default('inbox'),
                move_to: z.string().min(1).optional(),
              })
              .strict(),
          )
          .default([]),
        /** Reporting mailboxes read over IMAP; the password comes from RIPOSTE_SECRET_<password_secret>. */
        imap: z
          .array(
            z
              .object({
                host: z.string().min(1, 'must name the IMAP server'),
                port: z.coerce.number().int().min(1).max(65535).default(993),
                security: z.enum(['tls', 'starttls', 'none']).default('tls'),
                username: z.string().min(1, 'must not be empty'),
                password_secret: z.string().min(1, 'must name a secret (RIPOSTE_SECRET_<NAME>)'),
                mailbox: z.string().min(1).default('INBOX'),
                move_to: z.string().min(1).optional(),
                verify_certificate: z.boolean().default(true),
              })
              .strict(),
          )
          .default([]),
        /** How often the reporting mailboxes are polled. */
        poll_interval: duration.default(30_000),
        /** How long phishing.block_indicators keeps a URL, domain or sender on the EDL when the playbook says nothing. */
        block_ttl: duration.default(30 * 86_400_000),
      })
      .strict()
      .prefault({}),
    /** The External Dynamic Lists Riposte serves at /edl/<list> (docs/edl.md). */
    edl: z
      .object({
        /**
         * Types of lists beyond the defaults (riposte-block: ip, riposte-urls: url, riposte-domains: domain,
         * riposte-senders: sender); a list not named here takes the type of its first entry.
         */
        lists: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'list names are 1–64 lowercase letters, digits, - or _'),
            z.enum(['ip', 'url', 'domain', 'sender']),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    /** Known-good lists the verdict checks first; see docs/verdicts.md. */
    intel: z
      .object({
        partners: z.array(z.object({ value: z.string().min(1), label: z.string().min(1) }).strict()).default([]),
        own: z.array(z.object({ value: z.string().min(1), label: z.string().min(1) }).strict()).default([]),
        /** The TAXII 2.1 server at /taxii2/ (docs/stix.md). */
        taxii: z
          .object({
            title: z.string().min(1, 'must not be empty').default('Riposte TAXII 2.1 server'),
            contact: z.string().min(1, 'must not be empty').optional(),
            /** Largest POST objects body accepted (announced as the API root's max_content_length). */
            max_content_length: size.default(10 * 1048576),
            /** Objects per page when a client gives no limit, and the most ever returned. */
            page_size: positiveInt.default(100),
            max_page_size: positiveInt.default(1000),
            /**
             * Collections to create or update at start (the default one may be listed to change its access).
             * `read`/`write` name roles or permissions; a caller holding any of them may read (write).
             */
            collections: z
              .array(
                z
                  .object({
                    id: z.uuid({ error: 'must be a UUID (TAXII collection ids are UUIDs)' }),
                    api_root: z
                      .string()
                      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, "_" or "-"')
                      .default('default'),
                    title: z.string().min(1, 'must not be empty'),
                    description: z.string().optional(),
                    alias: z.string().min(1, 'must not be empty').optional(),
                    read: z.array(z.string().min(1)).default([]),
                    write: z.array(z.string().min(1)).default([]),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .prefault({}),
        /** TAXII 2.1 feeds pulled on a schedule into the indicator store (docs/stix.md). */
        feeds: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, "_" or "-"'),
                /** The API root URL, e.g. https://intel.example/taxii2/feeds/ */
                url: z.url({ error: 'must be an http(s) URL' }),
                /** Collection id inside that API root. */
                collection: z.string().min(1, 'must not be empty'),
                auth: z
                  .object({
                    type: z.enum(['basic', 'bearer']),
                    /** User name for basic. */
                    user: z.string().min(1, 'must not be empty').optional(),
                    /** Name of the environment variable holding the password or token (never the value itself). */
                    secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
                  })
                  .strict()
                  .optional(),
                interval: duration.default(3_600_000),
                /** Confidence given to objects that carry none (0–100). */
                confidence: z.coerce.number().int().min(0, 'must be from 0 to 100').max(100, 'must be from 0 to 100').optional(),
                /** TLP given to objects that carry no TLP marking. */
                tlp: z.enum(['clear', 'green', 'amber', 'amber+strict', 'red']).optional(),
                /** Objects per request. */
                page_size: positiveInt.default(500),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /** Guardrails: which policy decides write/destructive actions and what is never acted on (docs/policy.md). */
    policy: z
      .object({
        /** Policy YAML file; unset: the built-in response tiers. */
        file: z.string().min(1, 'must not be empty').optional(),
        /** Allow-lists every policy evaluation sees (cidrs, domains, partners, warning_list_hits); validated at start. */
        allow_lists: z.record(z.string(), z.unknown()).optional(),
        /** YAML or JSON file with more allow-lists in the same shape (merged with allow_lists). */
        allow_lists_file: z.string().min(1, 'must not be empty').optional(),
        /** The integration instance (a `cmdb` product) whose `lookup` gives each target's asset record to policy. */
        cmdb_instance: z.string().min(1, 'must not be empty').default('cmdb'),
      })
      .strict()
      .prefault({}),
    approvals: z
      .object({
        /**
         * HMAC key for signed decisions and one-time links (at least 32 bytes). Unset: generated on first
         * start and kept in the settings store. `previous_signing_secrets` still verify after a rotation.
         */
        signing_secret: z.string().min(32, 'must be at least 32 characters (use a long random value)').optional(),
        previous_signing_secrets: secretList.default([]),
        /** How long a one-time approval link stays valid (at most 24h). */
        link_ttl: duration.default(15 * 60_000),
        /** How often due approvals are resolved to their on_expiry outcome. */
        sweep_interval: duration.default(30_000),
        /** Where approval requests are sent (docs/policy.md, "Approval channels"); none configured: API and UI only. */
        channels: z
          .object({
            /** Post an interactive message to this Slack channel id (needs slack.bot_token). */
            slack: z.object({ channel: slackChannel }).strict().optional(),
            /** Post an Adaptive Card to this Teams incoming-webhook or Workflows URL. */
            teams: z
              .object({ webhook_url: z.url('must be an https:// webhook URL') })
              .strict()
              .optional(),
            /** E-mail each listed Riposte user (name → address) with their own one-time links (needs email.smtp). */
            email: z
              .object({ to: z.record(z.string().min(1), z.string().min(3)) })
              .strict()
              .optional(),
          })
          .strict()
          .prefault({}),
        /** Who is paged when policy says page_on_call (blast radius); resolved approvals resolve PagerDuty incidents. */
        on_call: z
          .object({
            slack: z.object({ channel: slackChannel }).strict().optional(),
            teams: z
              .object({ webhook_url: z.url('must be an https:// webhook URL') })
              .strict()
              .optional(),
            email: z
              .object({ to: z.array(z.string().min(3)).min(1, 'must list at least one address') })
              .strict()
              .optional(),
            pagerduty: z
              .object({
                /** Events API v2 integration key of the on-call service. */
                routing_key: z.string().regex(/^[A-Za-z0-9]{32}$/, 'must be the 32-character Events API v2 integration key'),
                url: z.url().default('https://events.pagerduty.com'),
              })
              .strict()
              .optional(),
          })
          .strict()
          .prefault({}),
        /** The outbox that sends channel messages: retries with backoff, then gives up visibly. */
        delivery: z
          .object({
            /** Tries per message before it is marked failed (each failure is noted on the case or audit log). */
            max_attempts: positiveInt.default(8),
            /** How often due retries are looked for (new messages go at once). */
            poll_interval: duration.default(5_000),
            /** Per-request timeout towards Slack, Teams, PagerDuty and the SMTP relay. */
            timeout: duration.default(10_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    slack: z
      .object({
        /** The Slack app's signing secret: interaction requests are verified with it (v0 scheme). */
        signing_secret: z.string().min(1, 'must not be empty').optional(),
        /** Slack user id → Riposte user name: who a click in Slack decides as (their Riposte roles apply). */
        users: z.record(z.string(), z.string().min(1, 'must not be empty')).default({}),
        /** Bot token (xoxb-…) for chat.postMessage and chat.update; set it through RIPOSTE_SLACK_BOT_TOKEN, never logged. */
        bot_token: z
          .string()
          .regex(/^xox[bp]-[A-Za-z0-9-]{10,}$/, 'must be a Slack bot token (xoxb-…)')
          .optional(),
        /** Web API base URL (the lab simulator in tests). */
        api_url: z.url().default('https://slack.com/api'),
      })
      .strict()
      .prefault({}),
    /** Outbound mail (approval e-mails, on-call pages); the `email` integration has its own settings. */
    email: z
      .object({
        smtp: z
          .object({
            host: z.string().min(1, 'must not be empty'),
            port: port.default(587),
            /** tls (implicit, 465), starttls (required, 587), opportunistic, none (loopback relays only). */
            security: z.enum(['tls', 'starttls', 'opportunistic', 'none']).default('starttls'),
            username: z.string().min(1).optional(),
            /** Set it through RIPOSTE_SMTP_PASSWORD; never logged. */
            password: z.string().min(1).optional(),
            from: z.string().min(3, 'must be an address such as "Riposte <soc@example.com>"'),
            verify_certificate: z.boolean().default(true),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** AI assistance through an OpenAI-compatible endpoint (docs/ai.md); off unless enabled. */
    ai: z
      .object({
        enabled: booleanish.default(false),
        /** The client POSTs {base_url}/chat/completions (a local server for air-gapped SOCs: Ollama, vLLM, llama.cpp). */
        base_url: z.url('must be an absolute URL such as http://127.0.0.1:11434/v1').default('http://127.0.0.1:11434/v1'),
        model: z.string().min(1, 'must name the model').default('llama3.1:8b'),
        /** Name of the secret holding the API key, read from RIPOSTE_SECRET_<name>; omit for keyless local servers. */
        api_key_secret: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a secret name (its value comes from RIPOSTE_SECRET_<NAME>)')
          .optional(),
        /** Only for an endpoint trusted with TLP:RED (on-prem); otherwise TLP:RED cases are refused and items withheld. */
        allow_tlp_red: booleanish.default(false),
        timeout: duration.default(60_000),
        max_output_tokens: positiveInt.default(1500),
        rate_limit_per_minute: positiveInt.default(60),
        budget: z
          .object({
            /** Tokens (prompt + completion) one case may use in all. */
            case_tokens: positiveInt.default(60_000),
            /** Tokens all cases together may use per UTC day. */
            daily_tokens: positiveInt.default(2_000_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;

/** Environment variable → config path. The only env vars read; anything else is ignored. */
export const ENV_KEYS: Record<string, string[]> = {
  RIPOSTE_DATA_DIR: ['data_dir'],
  RIPOSTE_DATABASE_URL: ['database_url'],
  RIPOSTE_DATABASE_SCHEMA: ['database_schema'],
  RIPOSTE_DATABASE_SQLITE_MAX_SIZE: ['database_sqlite_max_size'],
  RIPOSTE_HOST: ['server', 'host'],
  RIPOSTE_PORT: ['server', 'port'],
  RIPOSTE_BODY_LIMIT: ['server', 'body_limit'],
  RIPOSTE_PUBLIC_URL: ['server', 'public_url'],
  RIPOSTE_TRUST_PROXY: ['server', 'trust_proxy'],
  RIPOSTE_LOG_LEVEL: ['log', 'level'],
  RIPOSTE_POLICY_FILE: ['policy', 'file'],
  RIPOSTE_APPROVALS_SIGNING_SECRET: ['approvals', 'signing_secret'],
  RIPOSTE_SLACK_SIGNING_SECRET: ['slack', 'signing_secret'],
  RIPOSTE_SLACK_BOT_TOKEN: ['slack', 'bot_token'],
  RIPOSTE_SMTP_PASSWORD: ['email', 'smtp', 'password'],
  RIPOSTE_TEAMS_WEBHOOK_URL: ['approvals', 'channels', 'teams', 'webhook_url'],
  RIPOSTE_PAGERDUTY_ROUTING_KEY: ['approvals', 'on_call', 'pagerduty', 'routing_key'],
  RIPOSTE_PLAYBOOKS_DIR: ['engine', 'playbooks_dir'],
  RIPOSTE_HTTP_ALLOW: ['engine', 'http_allow'],
  RIPOSTE_INTEGRATIONS_HTTP_ALLOW: ['integrations', 'http_allow'],
  RIPOSTE_INTEGRATIONS_TIMEOUT: ['integrations', 'timeout'],
  RIPOSTE_EVIDENCE_MAX_BYTES: ['cases', 'evidence_max_bytes'],
  RIPOSTE_WEBHOOK_GENERIC_TOKENS: ['webhooks', 'generic', 'tokens'],
  RIPOSTE_WEBHOOK_GENERIC_HMAC_SECRETS: ['webhooks', 'generic', 'hmac_secrets'],
  RIPOSTE_WEBHOOK_SPLUNK_TOKENS: ['webhooks', 'splunk', 'tokens'],
  RIPOSTE_WEBHOOK_SPLUNK_HMAC_SECRETS: ['webhooks', 'splunk', 'hmac_secrets'],
  RIPOSTE_WEBHOOK_ELASTIC_TOKENS: ['webhooks', 'elastic', 'tokens'],
  RIPOSTE_WEBHOOK_ELASTIC_HMAC_SECRETS: ['webhooks', 'elastic', 'hmac_secrets'],
  RIPOSTE_WEBHOOK_SENTINEL_TOKENS: ['webhooks', 'sentinel', 'tokens'],
  RIPOSTE_WEBHOOK_SENTINEL_HMAC_SECRETS: ['webhooks', 'sentinel', 'hmac_secrets'],
  RIPOSTE_AI_ENABLED: ['ai', 'enabled'],
  RIPOSTE_AI_BASE_URL: ['ai', 'base_url'],
  RIPOSTE_AI_MODEL: ['ai', 'model'],
};

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Explicit file; otherwise RIPOSTE_CONFIG, otherwise ./riposte.yaml when it exists. */
  file?: string;
  /** Values that win over everything (CLI flags). */
  overrides?: Record<string, unknown>;
  cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, string>();

  const explicitFile = options.file ?? env.RIPOSTE_CONFIG;
  const file = explicitFile ? resolve(cwd, explicitFile) : resolve(cwd, 'riposte.yaml');
  if (explicitFile || existsSync(file)) {
    const fromFile = readConfigFile(file);
    for (const [path, value] of flatten(fromFile)) {
      setPath(raw, path, value);
      origin.set(path.join('.'), file);
    }
  }
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      setPath(raw, path, value);
      origin.set(path.join('.'), name);
    }
  }
  for (const [dotted, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(raw, dotted.split('.'), value);
    origin.set(dotted, 'command line');
  }

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    let message: string;
    if (issue?.code === 'unrecognized_keys') {
      const where = path ? `${path}.` : '';
      const keys = issue.keys.map((k) => `${where}${k}`).join(', ');
      message = `unknown configuration key ${keys} in ${file} (known keys are listed in docs/configuration.md)`;
    } else {
      const from = origin.get(path);
      const value = getPath(raw, issue?.path ?? []);
      const shown = value === undefined ? '' : `; got ${JSON.stringify(value)}`;
      message = `invalid configuration: ${path}${from ? ` (from ${from})` : ''} ${issue?.message ?? 'is invalid'}${shown}`;
    }
    throw new RiposteError('config.invalid', message);
  }
  return parsed.data;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RiposteError('config.unreadable', `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
  }
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    throw new RiposteError('config.invalid', `config file ${file} is not valid YAML: ${first}`, { cause: error });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new RiposteError('config.invalid', `config file ${file} must hold a mapping of keys to values`);
  }
  return value;
}

function flatten(value: unknown, prefix: string[] = []): Array<[string[], unknown]> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix.length > 0) return [[prefix, value]];
    return entries.flatMap(([key, item]) => flatten(item, [...prefix, key]));
  }
  return [[prefix, value]];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function getPath(target: unknown, path: PropertyKey[]): unknown {
  let node = target;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** A database URL fit for messages: user kept, password dropped. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
