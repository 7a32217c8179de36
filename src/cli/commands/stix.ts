import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { describeError, usageError } from '../../core/index.ts';
import { type CompiledPattern, collectObservations, compilePattern } from '../../intel/stix/index.ts';
import { cliStreams } from '../output.ts';

/**
 * `riposte stix validate-pattern|match --jsonl`: batch pattern validation and matching, one JSON object per
 * line in and out (docs/stix.md). Input is streamed line by line, never buffered whole; a bad line yields an
 * error line for its id (null when the id cannot be read) and processing continues.
 */

type Version = '2.0' | '2.1';

async function writeLine(value: unknown): Promise<void> {
  const stdout = cliStreams().stdout;
  const ok = stdout.write(`${JSON.stringify(value)}\n`);
  if (ok === false && stdout === process.stdout) await once(process.stdout, 'drain');
}

interface ParsedLine {
  id: unknown;
  record?: Record<string, unknown>;
  error?: string;
}

function readRecord(line: string, lineNumber: number): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { id: null, error: `line ${lineNumber}: not JSON (${describeError(error)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { id: null, error: `line ${lineNumber}: must be a JSON object` };
  const record = value as Record<string, unknown>;
  const id = record.id === undefined ? null : record.id;
  return { id, record };
}

function versionOf(record: Record<string, unknown>): Version | string {
  const options = record.options;
  if (options === undefined) return '2.1';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return 'options: must be an object';
  const version = (options as Record<string, unknown>).stix_version;
  if (version === undefined) return '2.1';
  if (version !== '2.0' && version !== '2.1') return 'options.stix_version: must be "2.0" or "2.1"';
  return version;
}

/** Compiled patterns keyed by version and source: batch inputs often repeat a pattern. */
class PatternCache {
  private readonly entries = new Map<string, CompiledPattern>();
  get(source: string, version: Version): CompiledPattern {
    const key = `${version}\u0000${source}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const compiled = compilePattern(source, { stixVersion: version });
    if (this.entries.size >= 1000) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, compiled);
    return compiled;
  }
}

async function eachLine(handle: (line: string, lineNumber: number) => Promise<void>): Promise<void> {
  // A reader that goes away (`| head`) ends the batch quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    await handle(line, lineNumber);
  }
}

export async function validatePatternLines(): Promise<void> {
  const cache = new PatternCache();
  await eachLine(async (line, lineNumber) => {
    const { id, record, error } = readRecord(line, lineNumber);
    if (!record) return writeLine({ id, valid: false, error });
    const version = versionOf(record);
    if (version !== '2.0' && version !== '2.1') return writeLine({ id, valid: false, error: version });
    if (typeof record.pattern !== 'string') return writeLine({ id, valid: false, error: 'pattern: must be a string' });
    try {
      cache.get(record.pattern, version);
      await writeLine({ id, valid: true });
    } catch (problem) {
      await writeLine({ id, valid: false, error: describeError(problem) });
    }
  });
}

export async function matchLines(): Promise<void> {
  const cache = new PatternCache();
  await eachLine(async (line, lineNumber) => {
    const { id, record, error } = readRecord(line, lineNumber);
    if (!record) return writeLine({ id, result: 'error', error });
    const version = versionOf(record);
    if (version !== '2.0' && version !== '2.1') return writeLine({ id, result: 'error', error: version });
    if (typeof record.pattern !== 'string') return writeLine({ id, result: 'error', error: 'pattern: must be a string' });
    if (!Array.isArray(record.observations)) return writeLine({ id, result: 'error', error: 'observations: must be a list' });
    try {
      const pattern = cache.get(record.pattern, version);
      const observations = collectObservations(record.observations, { stixVersion: version });
      await writeLine({ id, result: pattern.matches(observations) ? 'match' : 'nomatch' });
    } catch (problem) {
      await writeLine({ id, result: 'error', error: describeError(problem) });
    }
  });
}

export function registerStix(program: Command): void {
  const stix = program.command('stix').description('STIX 2.1 tools: validate and match patterns in batch');
  stix
    .command('validate-pattern')
    .description('read {"id","pattern","options"?} lines from stdin, write {"id","valid","error"?} lines')
    .option('--jsonl', 'JSON lines in and out (required: the only format)')
    .action(async (options: { jsonl?: boolean }) => {
      if (!options.jsonl) throw usageError('stix validate-pattern: --jsonl is required (one JSON object per line on stdin)');
      await validatePatternLines();
    });
  stix
    .command('match')
    .description('read {"id","pattern","observations","options"?} lines from stdin, write {"id","result","error"?} lines')
    .option('--jsonl', 'JSON lines in and out (required: the only format)')
    .action(async (options: { jsonl?: boolean }) => {
      if (!options.jsonl) throw usageError('stix match: --jsonl is required (one JSON object per line on stdin)');
      await matchLines();
    });
}
