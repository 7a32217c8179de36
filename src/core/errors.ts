/**
 * One error family for the whole product. `code` is stable and documented (docs/errors.md): clients,
 * problem+json responses and the CLI all speak it. `message` is for humans and names the problem.
 */
export interface RiposteErrorOptions {
  /** HTTP status to use when this error reaches an API client. */
  status?: number;
  /** Whether trying the same thing again later may succeed (network blips, locks, 429s). */
  retryable?: boolean;
  cause?: unknown;
  /** Structured details safe to show to the caller (never secrets). */
  details?: Record<string, unknown>;
}

export class RiposteError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: RiposteErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RiposteError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export function isRiposteError(value: unknown): value is RiposteError {
  return value instanceof RiposteError;
}

/** Bad input from a user or caller: the message must name the field or flag at fault. */
export function invalidInput(message: string, details?: Record<string, unknown>): RiposteError {
  return new RiposteError('input.invalid', message, { status: 400, details });
}

export function notFound(what: string, id: string): RiposteError {
  return new RiposteError('not_found', `${what} ${JSON.stringify(id)} does not exist`, { status: 404 });
}

export function conflict(message: string): RiposteError {
  return new RiposteError('conflict', message, { status: 409 });
}

/** The CLI exits with 2 for these: the command line itself was wrong. */
export function usageError(message: string): RiposteError {
  return new RiposteError('cli.usage', message, { status: 400 });
}

/** Best-effort one-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
