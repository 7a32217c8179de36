import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that answers like one vendor's API. Each vendor module supplies a handler; this
 * adds what every simulator needs: configurable latency, a per-key quota answered with 429 + Retry-After,
 * and fault injection for tests (the next N requests fail with a status, a malformed body, or hang).
 */
export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** Which TCP connection carried it (1, 2 …, in accept order): shows whether clients reuse connections. */
  connection: number;
}

export interface SimAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is (not JSON-encoded). */
  raw?: string;
}

export type Fault = { kind: 'status'; status: number; retryAfterSeconds?: number; body?: unknown } | { kind: 'malformed' } | { kind: 'hang' };

export interface SimulatorOptions {
  /** Added before every answer (default 0). */
  latencyMs?: number;
  /** Requests per window before 429 (default unlimited). */
  quota?: { requests: number; windowMs: number };
  port?: number;
}

export interface VendorSimulator {
  readonly vendor: string;
  readonly url: string;
  /** Requests seen (fault-injected ones included). */
  readonly requests: SimRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  failNext(fault: Fault, count?: number): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export interface VendorHandler {
  vendor: string;
  /** Content type of answers (default application/json). */
  contentType?: string;
  /** The vendor's own error body for a status (401, 404, 429 …). */
  errorBody(status: number, message?: string): unknown;
  handle(request: SimRequest): SimAnswer;
}

export async function startSimulator(handler: VendorHandler, options: SimulatorOptions = {}): Promise<VendorSimulator> {
  let latency = options.latencyMs ?? 0;
  const faults: Fault[] = [];
  const requests: SimRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let windowStart = Date.now();
  let used = 0;
  let accepted = 0;
  const connectionIds = new WeakMap<object, number>();

  const send = (res: ServerResponse, answer: SimAnswer) => {
    // Vendors that answer XML (PAN-OS) give their error bodies as text: send those as is.
    const text = typeof answer.body === 'string' ? answer.body : undefined;
    const headers = { 'content-type': handler.contentType ?? 'application/json', ...answer.headers };
    res.writeHead(answer.status, headers);
    res.end(answer.raw ?? text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const request: SimRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        connection: connectionIds.get(req.socket) ?? 0,
      };
      requests.push(request);
      const answer = (): void => {
        const fault = faults.shift();
        if (fault?.kind === 'hang') {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        if (fault?.kind === 'malformed') {
          send(res, { status: 200, raw: '{"data": {"attributes": <html>Bad gateway</html>' });
          return;
        }
        if (fault?.kind === 'status') {
          const headers: Record<string, string> = {};
          if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
          send(res, { status: fault.status, headers, body: fault.body ?? handler.errorBody(fault.status) });
          return;
        }
        if (options.quota) {
          const now = Date.now();
          if (now - windowStart >= options.quota.windowMs) {
            windowStart = now;
            used = 0;
          }
          if (++used > options.quota.requests) {
            const retry = Math.max(1, Math.ceil((windowStart + options.quota.windowMs - now) / 1000));
            send(res, { status: 429, headers: { 'retry-after': String(retry) }, body: handler.errorBody(429) });
            return;
          }
        }
        try {
          send(res, handler.handle(request));
        } catch (error) {
          send(res, { status: 500, body: handler.errorBody(500, String(error)) });
        }
      };
      if (latency > 0) setTimeout(answer, latency);
      else answer();
    });
  });
  server.on('connection', (socket) => connectionIds.set(socket, ++accepted));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    vendor: handler.vendor,
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => accepted,
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    setLatency(ms) {
      latency = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function headerValue(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
