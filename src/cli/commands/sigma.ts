import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  CONVERSION_TARGETS,
  type ConversionTarget,
  compileSigmaRule,
  convertSigmaRule,
  formatSigmaIssue,
  parseSigmaRule,
  type SigmaRule,
  validateSigmaRule,
} from '../../analyzers/index.ts';
import { describeError, isRiposteError, RiposteError, usageError } from '../../core/index.ts';
import { cliStreams, createOutput } from '../output.ts';

/**
 * `riposte sigma validate|match|convert`: check Sigma rules, run one over a JSON-lines event file locally,
 * and translate it for Defender (KQL), osquery or Splunk (docs/sigma.md).
 */

function readRuleText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RiposteError('sigma.rule_unreadable', `cannot read rule ${file}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`, {
      status: 400,
    });
  }
}

function loadRule(file: string): SigmaRule {
  return parseSigmaRule(readRuleText(file), { source: file });
}

/** Streams the events file line by line: a bad line is reported with its number and skipped. */
export async function matchEvents(rule: SigmaRule, eventsFile: string, onBadLine: (lineNumber: number, problem: string) => void): Promise<number[]> {
  const compiled = compileSigmaRule(rule);
  const input = eventsFile === '-' ? process.stdin : createReadStream(eventsFile, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    if (input === process.stdin) resolve();
    else {
      input.once('open', () => resolve());
      input.once('error', (error: NodeJS.ErrnoException) =>
        reject(new RiposteError('sigma.events_unreadable', `cannot read events ${eventsFile}: ${error.code ?? describeError(error)}`, { status: 400 })),
      );
    }
  });
  await opened;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const matched: number[] = [];
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (error) {
      onBadLine(lineNumber, `not JSON (${describeError(error)})`);
      continue;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      onBadLine(lineNumber, 'must be a JSON object');
      continue;
    }
    try {
      if (compiled.matches(event as Record<string, unknown>)) matched.push(lineNumber);
    } catch (error) {
      if (!isRiposteError(error)) throw error;
      onBadLine(lineNumber, error.message);
    }
  }
  return matched;
}

export function registerSigma(program: Command): void {
  const sigma = program.command('sigma').description('Sigma rules: validate, match against JSON-lines events, convert to KQL / osquery / Splunk');

  sigma
    .command('validate')
    .description('check Sigma rule files; every problem is printed as file:line:col')
    .argument('<rules...>', 'Sigma rule YAML files')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExample:\n  riposte sigma validate rules/run_key_appdata.yml rules/*.yml\n')
    .action((files: string[], options: { json?: boolean }) => {
      const out = createOutput(Boolean(options.json));
      const results = files.map((file) => {
        const result = validateSigmaRule(readRuleText(file));
        return result.ok ? { file, valid: true, title: result.rule.title } : { file, valid: false, issues: result.issues };
      });
      out.data(results, () =>
        results.map((r) => (r.valid ? `${r.file}: ok (${r.title})` : (r.issues ?? []).map((i) => formatSigmaIssue(i, r.file)).join('\n'))).join('\n'),
      );
      if (results.some((r) => !r.valid)) process.exitCode = 1;
    });

  sigma
    .command('match')
    .description('evaluate a rule over events (one flat JSON object per line); bad lines are reported on stderr and skipped')
    .requiredOption('--rule <file>', 'Sigma rule YAML file')
    .requiredOption('--events <file>', 'JSON-lines events file ("-" for stdin)')
    .option('--json', 'print {"matches": N, "lines": [line numbers]}')
    .addHelpText('after', '\nExample:\n  riposte sigma match --rule run_key_appdata.yml --events sysmon-13.jsonl --json\n')
    .action(async (options: { rule: string; events: string; json?: boolean }) => {
      const rule = loadRule(options.rule);
      const out = createOutput(Boolean(options.json));
      const lines = await matchEvents(rule, options.events, (lineNumber, problem) => {
        cliStreams().stderr.write(`riposte: ${options.events} line ${lineNumber}: ${problem} (skipped)\n`);
      });
      out.data({ matches: lines.length, lines }, () =>
        lines.length === 0 ? `no events match "${rule.title}"` : `${lines.length} event(s) match "${rule.title}": line ${lines.join(', ')}`,
      );
    });

  sigma
    .command('convert')
    .description('translate a rule into a backend query: kql (Defender Advanced Hunting), osquery (registry table), splunk (SPL)')
    .requiredOption('--rule <file>', 'Sigma rule YAML file')
    .requiredOption('--to <target>', `target: ${CONVERSION_TARGETS.join(' | ')}`)
    .option('--json', 'print {"target", "query"}')
    .addHelpText('after', '\nExample:\n  riposte sigma convert --rule run_key_appdata.yml --to kql\n')
    .action((options: { rule: string; to: string; json?: boolean }) => {
      if (!(CONVERSION_TARGETS as readonly string[]).includes(options.to))
        throw usageError(`--to must be one of ${CONVERSION_TARGETS.join(', ')} (got ${JSON.stringify(options.to)})`);
      const rule = loadRule(options.rule);
      const query = convertSigmaRule(rule, options.to as ConversionTarget);
      createOutput(Boolean(options.json)).data({ target: options.to, query }, () => query);
    });
}
