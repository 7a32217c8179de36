import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Builds the web UI (ui/ → ui/dist) with Vite's JS API.
 *   node scripts/build-ui.ts               always build
 *   node scripts/build-ui.ts --if-stale    only when ui/dist is missing or older than a source file
 *   node scripts/build-ui.ts --if-missing  only when ui/dist is missing
 * `npm run demo` and the browser tests use the conditional forms, so a fresh clone works after `npm ci`.
 */
const root = resolve(import.meta.dirname, '..', 'ui');
const index = join(root, 'dist', 'index.html');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether ui/dist needs (re)building. */
export function uiBuildNeeded(mode: 'always' | 'if-stale' | 'if-missing'): boolean {
  if (mode === 'always' || !existsSync(index)) return true;
  if (mode === 'if-missing') return false;
  return newestSource(root) > statSync(index).mtimeMs;
}

/**
 * Test files run in parallel may each ask for a build: one builds (holding a lock directory, created
 * atomically), the others wait for it and then find the build fresh. A lock older than two minutes is
 * left over from a killed build and is taken over.
 */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(root, '.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function buildUi(mode: 'always' | 'if-stale' | 'if-missing' = 'always', options: { quiet?: boolean } = {}): Promise<boolean> {
  if (!uiBuildNeeded(mode)) return false;
  return withBuildLock(async () => {
    if (mode !== 'always' && !uiBuildNeeded(mode)) return false;
    const { build } = await import('vite');
    const started = performance.now();
    await build({ configFile: join(root, 'vite.config.ts'), logLevel: options.quiet ? 'error' : 'warn' });
    if (!options.quiet) process.stderr.write(`riposte: web UI built into ui/dist in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return true;
  });
}

if (import.meta.main) {
  const mode = process.argv.includes('--if-missing') ? 'if-missing' : process.argv.includes('--if-stale') ? 'if-stale' : 'always';
  await buildUi(mode);
}
