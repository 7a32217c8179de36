import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, at any depth. Matching is on the key name, so a new
 * integration's `apiKey` or `client_secret` is covered without anyone remembering to list it.
 */
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key|session/i;
const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret-looking keys replaced; also used to scrub action outputs and error details. */
export function redactSecrets(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
  if (value instanceof Error) {
    return { type: value.name, message: value.message, ...(redactSecrets({ ...value }, depth + 1, seen) as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretKey(key) ? REDACTED : redactSecrets(item, depth + 1, seen);
  }
  return out;
}

export interface LoggerConfig {
  level: string;
  /** Where lines go; defaults to stderr so that `--json` data on stdout stays clean. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: 'riposte' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactSecrets(object) as Record<string, unknown>,
    },
    serializers: {
      err: (error: unknown) => redactSecrets(error) as Record<string, unknown>,
      req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: stripQuery(req.url), id: req.id }),
    },
  };
  return pino(options, (config.destination ?? process.stderr) as pino.DestinationStream);
}

/** Query strings carry tokens often enough (webhook URLs) that request logs keep only the path. */
function stripQuery(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
