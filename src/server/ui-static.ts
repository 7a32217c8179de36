import { createReadStream, existsSync, type Stats, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Serves the analysts' web UI (the Vite build in `ui/dist`) at `/`: files by exact path, and `index.html`
 * for any other page a browser asks for (Accept: text/html) outside `/api/` and `/taxii2/`, so client-side
 * routes (`/cases/12`) survive a reload while API and TAXII clients keep getting their own 404s. It runs from the
 * not-found handler, so it never shadows an API route and needs no route of its own: the UI is public
 * static content; every piece of data it shows comes from the authenticated API.
 *
 * Every UI response carries a strict Content-Security-Policy: scripts and styles only from this origin
 * (no inline script, no eval), no framing, no plugins, API calls to this origin only. Paths are resolved
 * under the build directory and anything that escapes it (`..`, encoded or not) is refused.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that belong to machine clients: never answered with the UI. */
const API_PREFIXES = ['/api', '/taxii2'];

/** The built UI next to the sources: <repo>/ui/dist. */
export const DEFAULT_UI_DIR = resolve(import.meta.dirname, '..', '..', 'ui', 'dist');

export interface UiStatic {
  /** Answers the request if it is for the UI; false when the caller should send its own 404. */
  serve(request: FastifyRequest, reply: FastifyReply): boolean;
}

function fileAt(path: string): Stats | undefined {
  try {
    const stats = statSync(path);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

export function uiStatic(dir: string = DEFAULT_UI_DIR): UiStatic {
  const root = resolve(dir);
  const index = join(root, 'index.html');

  function send(reply: FastifyReply, path: string, stats: Stats, immutable: boolean, head: boolean): void {
    reply.header('content-security-policy', UI_CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // Vite names assets by content hash: they never change. index.html must be re-read on every load.
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('content-type', TYPES[extname(path)] ?? 'application/octet-stream');
    reply.header('content-length', stats.size);
    reply.code(200);
    if (head) reply.send();
    else reply.send(createReadStream(path));
  }

  return {
    serve(request, reply) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const rawPath = request.url.split('?')[0] ?? '/';
      if (API_PREFIXES.some((prefix) => rawPath === prefix || rawPath.startsWith(`${prefix}/`))) return false;
      let path: string;
      try {
        path = decodeURIComponent(rawPath);
      } catch {
        return false;
      }
      if (path.includes('\0') || path.includes('\\')) return false;
      const head = request.method === 'HEAD';
      const candidate = resolve(root, `.${path}`);
      if (candidate !== root && !candidate.startsWith(root + sep)) return false;
      const stats = candidate === root ? undefined : fileAt(candidate);
      if (stats) {
        send(reply, candidate, stats, path.startsWith('/assets/'), head);
        return true;
      }
      // A missing asset is a real 404 (a stale tab asking for an old bundle); any other path is a UI route.
      if (path.startsWith('/assets/') || extname(path) !== '') return false;
      if (!String(request.headers.accept ?? '').includes('text/html')) return false;
      const indexStats = fileAt(index);
      if (!indexStats) return false;
      send(reply, index, indexStats, false, head);
      return true;
    },
  };
}

/** Whether a built UI is present (the server says so at start when it is not). */
export function uiBuilt(dir: string = DEFAULT_UI_DIR): boolean {
  return existsSync(join(dir, 'index.html'));
}
