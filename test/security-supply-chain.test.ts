import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { recordFigure } from './campaign-figures.ts';

/**
 * The supply-chain policy in docs/dependencies.md, enforced: every dependency pinned to an exact version,
 * the lock file committed and in step with package.json, and no package that runs code at install time
 * unless it is on the allow-list below (today: none — Node 24 ships everything native we need).
 */
const INSTALL_SCRIPT_ALLOW_LIST: readonly string[] = [];

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, { version?: string; hasInstallScript?: boolean; resolved?: string; integrity?: string; link?: boolean }>;
};

const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

test('every direct dependency is pinned to an exact version (no ranges, tags, URLs or git)', () => {
  const loose: string[] = [];
  let checked = 0;
  for (const group of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
    for (const [name, spec] of Object.entries(pkg[group] ?? {})) {
      checked++;
      if (!EXACT.test(spec)) loose.push(`${group}.${name}: ${JSON.stringify(spec)}`);
    }
  }
  recordFigure('security', 'dependencies_checked', checked);
  assert.deepEqual(loose, [], `pin these exactly (npm install --save-exact name@x.y.z):\n${loose.join('\n')}`);
  assert.ok(checked > 10, 'package.json lists the dependencies');
});

test('package-lock.json is committed, v3, and locks exactly the versions package.json names', () => {
  assert.equal(lock.lockfileVersion, 3);
  const mismatched: string[] = [];
  for (const group of ['dependencies', 'devDependencies'] as const) {
    for (const [name, spec] of Object.entries(pkg[group] ?? {})) {
      const locked = lock.packages[`node_modules/${name}`];
      if (locked?.version !== spec) mismatched.push(`${name}: package.json ${spec}, lock ${locked?.version ?? 'missing'}`);
    }
  }
  assert.deepEqual(mismatched, [], 'run npm install so the lock file matches package.json');
});

test('every locked package has an integrity hash and, where a URL is recorded, comes from the npm registry', () => {
  const bad: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link) continue;
    // The lock omits `resolved` (npm's omit-lockfile-registry-resolved): the configured registry is used.
    const foreign = entry.resolved !== undefined && !entry.resolved.startsWith('https://registry.npmjs.org/');
    if (foreign || !entry.integrity?.startsWith('sha512-')) bad.push(`${path}: ${entry.resolved ?? ''} ${entry.integrity ?? 'no integrity'}`);
  }
  assert.deepEqual(bad, []);
});

test('no locked package has an install script unless allow-listed', () => {
  const scripted = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
    .map(([path]) => path.replace(/^.*node_modules\//, ''));
  const unexpected = scripted.filter((name) => !INSTALL_SCRIPT_ALLOW_LIST.includes(name));
  recordFigure('security', 'locked_packages_checked', Object.keys(lock.packages).length - 1);
  assert.deepEqual(
    unexpected,
    [],
    `these packages run code at install time; review them and add to the allow-list in this test and docs/dependencies.md, or drop them`,
  );
});
