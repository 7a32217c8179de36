import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isRiposteError, RiposteError } from '../core/index.ts';

/**
 * Every error a client sees is RFC 9457 problem+json carrying the same stable `code` as the
 * RiposteError behind it, plus the request id so a user's report can be matched to our logs.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  request_id?: string;
  retryable?: boolean;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

export function problemFor(error: RiposteError, request?: FastifyRequest): Problem {
  const status = error.status;
  const problem: Problem = {
    type: `urn:riposte:problem:${error.code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
  };
  if (request) {
    problem.instance = request.url.split('?')[0];
    problem.request_id = request.id;
  }
  if (error.retryable) problem.retryable = true;
  if (error.details) Object.assign(problem, { details: error.details });
  return problem;
}

/** Maps Fastify's own errors (validation, parsing, limits) onto our codes with messages that name the field. */
export function toRiposteError(error: unknown): RiposteError {
  if (isRiposteError(error)) return error;
  const fe = error as FastifyError & {
    validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
    validationContext?: string;
  };
  if (fe.validation) {
    const first = fe.validation[0];
    const where = fe.validationContext ?? 'body';
    const missing = first?.params?.missingProperty;
    const extra = first?.params?.additionalProperty;
    const field = `${where}${first?.instancePath?.replace(/\//g, '.') ?? ''}${missing ? `.${missing}` : ''}${extra ? `.${extra}` : ''}`;
    const message = extra ? 'is not an accepted field' : (first?.message ?? 'is invalid');
    return new RiposteError('input.invalid', `${field} ${message}`, { status: 400, details: { field } });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RiposteError('input.too_large', 'request body is larger than the server accepts (server.body_limit)', { status: 413 });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RiposteError(
        'input.unsupported_media_type',
        `content type ${JSON.stringify(fe.message.split(': ').at(-1))} is not accepted here; send application/json`,
        {
          status: 415,
        },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RiposteError('input.malformed_json', 'request body is empty but content-type is application/json', { status: 400 });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RiposteError('input.invalid', 'content-length does not match the body received', { status: 400 });
  }
  if (fe instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new RiposteError('input.malformed_json', `request body is not valid JSON: ${fe.message}`, { status: 400 });
  }
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  if (status < 500) return new RiposteError(`http.${status}`, fe.message, { status });
  return new RiposteError('internal', 'internal error; the server log has details under this request id', { status: 500, cause: error });
}

/** A route family with its own error format (TAXII error messages) sets `config.sendError`. */
export type ErrorSender = (reply: FastifyReply, request: FastifyRequest, error: RiposteError) => FastifyReply;

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: RiposteError): FastifyReply {
  const custom = (request.routeOptions?.config as { sendError?: ErrorSender } | undefined)?.sendError;
  if (custom) return custom(reply, request, error);
  const problem = problemFor(error, request);
  if (error.status === 429 || error.status === 503 || error.status === 507) {
    const retryAfter = error.details?.retry_after_seconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(Math.ceil(retryAfter)));
  }
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}
