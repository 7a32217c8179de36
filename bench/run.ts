import { readdirSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * `npm run bench -- <suite> [<suite> …]`: runs benchmark suites (files in bench/ exporting `run()`), which
 * print JSON lines on stdout. With no suite named, lists the suites.
 */
const here = new URL('.', import.meta.url);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(f) && !f.endsWith('.test.ts'))
  .map((f) => basename(f, '.ts'))
  .sort();

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (wanted.length === 0) {
  process.stderr.write(`usage: npm run bench -- <suite>…   (suites: ${suites.join(', ')}; "all" runs every one)\n`);
  process.exit(2);
}
const chosen = wanted.includes('all') ? suites : wanted;
for (const name of chosen) {
  if (!suites.includes(name)) {
    process.stderr.write(`bench: no suite ${JSON.stringify(name)} (suites: ${suites.join(', ')})\n`);
    process.exit(2);
  }
}
for (const name of chosen) {
  const suite = (await import(new URL(`${name}.ts`, here).href)) as { run(): Promise<void> };
  await suite.run();
}
