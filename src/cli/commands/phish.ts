import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  type AnalyzeOptions,
  analyzeReport,
  cachedLiveResolver,
  DEFAULT_EMAIL_LIMITS,
  type DnsResolver,
  describeAnalysisError,
  type EmailAnalysis,
  fixtureResolver,
  type ReportAnalysis,
} from '../../analyzers/index.ts';
import { openRuntime, phishingSettings } from '../../app/index.ts';
import { describeError, invalidInput } from '../../core/index.ts';
import { configFor } from '../context.ts';
import { cliStreams, createOutput } from '../output.ts';

/**
 * `riposte phish analyze FILE…`: offline phishing analysis of .eml/.msg files (docs/phishing.md). One
 * result per file; a file that cannot be read as an email gets an error line and the rest go on.
 */

const SEVERITY = ['malicious', 'suspicious', 'simulation', 'spam', 'graymail', 'benign'];

/** The analysis that speaks for a file: the most severe of the emails it carried (highest score on a tie). */
function primaryOf(report: ReportAnalysis): EmailAnalysis {
  return [...report.analyses].sort((a, b) => SEVERITY.indexOf(a.verdict) - SEVERITY.indexOf(b.verdict) || b.score - a.score)[0] as EmailAnalysis;
}

function messageSummary(a: EmailAnalysis) {
  return {
    location: a.location,
    subject: a.subject,
    from: a.from,
    messageId: a.messageId,
    date: a.date,
    verdict: a.verdict,
    score: a.score,
    techniques: a.techniques,
    reasons: a.reasons,
    observables: a.observables,
    auth: { spf: a.auth.spf, dkim: a.auth.dkim, dmarc: a.auth.dmarc, arc: a.auth.arc },
    hops: a.hops,
    attachments: a.attachments,
    links: a.links,
    simulation: a.simulation,
  };
}

export function reportLine(file: string, report: ReportAnalysis): Record<string, unknown> {
  const primary = primaryOf(report);
  const line: Record<string, unknown> = { file, ...messageSummary(primary) };
  // Keep the issue's field order first: file, verdict, score, reasons, observables, auth, hops, attachments.
  const ordered: Record<string, unknown> = {};
  for (const key of ['file', 'verdict', 'score', 'reasons', 'observables', 'auth', 'hops', 'attachments']) ordered[key] = line[key];
  for (const [key, value] of Object.entries(line)) if (!(key in ordered)) ordered[key] = value;
  if (report.reporter) ordered.reporter = report.reporter;
  if (report.analyses.length > 1 || report.reporter) ordered.messages = report.analyses.map(messageSummary);
  return ordered;
}

function humanReport(file: string, report: ReportAnalysis): string {
  const lines: string[] = [];
  for (const a of report.analyses) {
    const where = a.location ? ` [${a.location}]` : '';
    lines.push(`${file}${where}: ${a.verdict.toUpperCase()} (score ${a.score})${a.techniques.length ? ` ${a.techniques.join(' ')}` : ''}`);
    lines.push(`  from ${a.from ?? '(none)'} — ${JSON.stringify(a.subject)}`);
    lines.push(
      `  auth spf=${a.auth.spf} dkim=${a.auth.dkim} dmarc=${a.auth.dmarc} arc=${a.auth.arc}; ${a.hops.length} hop(s); ${a.attachments.length} attachment(s)`,
    );
    for (const reason of a.reasons.slice(0, 10)) lines.push(`  - ${reason}`);
  }
  if (report.reporter) lines.unshift(`${file}: report from ${report.reporter.from ?? '(unknown)'} carrying ${report.analyses.length} email(s)`);
  return lines.join('\n');
}

async function loadDnsRecords(path: string): Promise<DnsResolver> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw invalidInput(`--dns-records: cannot read ${path} as JSON (${describeError(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidInput('--dns-records: must be a JSON object of "name TYPE": [records]');
  return fixtureResolver(parsed as Record<string, string[]>);
}

export function registerPhish(program: Command): void {
  const phish = program.command('phish').description('phishing analysis of reported emails');
  phish
    .command('analyze')
    .description('analyse .eml/.msg files (or reports wrapping them) and print a verdict with its reasons')
    .argument('<files...>', 'email files: .eml, .msg, or a report with emails attached')
    .option('--json', 'one JSON object per file per line: {"file","verdict","score","reasons","observables","auth","hops","attachments",…}')
    .option('--offline', 'no network: no DNS re-verification of SPF/DKIM/DMARC/ARC and no reputation look-ups')
    .option('--dns-records <file>', 'answer DNS from a JSON file {"selector._domainkey.example.com TXT": [["v=DKIM1; …"]]} (works offline)')
    .addHelpText(
      'after',
      `
Examples:
  riposte phish analyze --offline reported.eml
  riposte phish analyze --json --offline inbox/*.eml | jq -c '{file, verdict, score}'

Protected domains, VIPs and trusted authserv-ids come from the phishing.* configuration (docs/phishing.md).
Exit code 1 when any file could not be analysed (its line says why); the others are still printed.`,
    )
    .action(async (files: string[], options: { json?: boolean; offline?: boolean; dnsRecords?: string }, command: Command) => {
      const config = configFor(command);
      const analyzeOptions: AnalyzeOptions = { settings: phishingSettings(config), limits: DEFAULT_EMAIL_LIMITS };
      if (options.dnsRecords) analyzeOptions.resolver = await loadDnsRecords(options.dnsRecords);
      else if (!options.offline) analyzeOptions.resolver = cachedLiveResolver();
      const out = cliStreams().stdout;
      let failures = 0;
      for (const file of files) {
        try {
          const info = await stat(file);
          if (!info.isFile()) throw invalidInput(`${file} is not a file`);
          if (info.size > DEFAULT_EMAIL_LIMITS.maxBytes) {
            throw invalidInput(`${file} is ${info.size} bytes, over the limit of ${DEFAULT_EMAIL_LIMITS.maxBytes} bytes`);
          }
          const bytes = new Uint8Array(await readFile(file));
          const report = await analyzeReport(bytes, analyzeOptions);
          out.write(options.json ? `${JSON.stringify(reportLine(file, report))}\n` : `${humanReport(file, report)}\n`);
        } catch (error) {
          failures++;
          const code = (error as NodeJS.ErrnoException)?.code;
          const message = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describeAnalysisError(error).message;
          out.write(options.json ? `${JSON.stringify({ file, error: message })}\n` : `${file}: error: ${message}\n`);
        }
      }
      if (failures > 0) process.exitCode = 1;
    });
  registerPhishSubmit(phish);
}

/**
 * `riposte phish submit FILE… --reporter ADDR`: the same intake as POST /api/v1/phishing/reports, against
 * this installation's store. Each file is kept, analysed, clustered into a case, and starts the
 * `phishing.reported` playbooks (run by the server or workers, which pick the queued runs up).
 */
function registerPhishSubmit(phish: Command): void {
  phish
    .command('submit')
    .description('take in user-reported e-mails: store, analyse, open or join a case, start the triage playbook')
    .argument('<files...>', 'reported e-mails: .eml, .msg, or a report with e-mails attached')
    .requiredOption('--reporter <address>', 'who reported it (gets the acknowledgement and the verdict)')
    .option('--json', 'one JSON object per file: {"report_id","status","analyses":[{"case_id","verdict",…}]}')
    .addHelpText(
      'after',
      `
Examples:
  riposte phish submit suspicious.eml --reporter ann@example.com
  riposte phish submit --json --reporter bob@example.com a.msg b.eml | jq -c '.analyses[] | {case_number, verdict}'

Exit code 1 when any file could not be taken in or read as e-mail (an unreadable one is still stored).`,
    )
    .action(async (files: string[], options: { reporter: string; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const runtime = await openRuntime(configFor(command));
      let failures = 0;
      try {
        const actor = { kind: 'user' as const, id: `cli:${operatorName()}`, name: operatorName() };
        for (const file of files) {
          try {
            const info = await stat(file);
            if (!info.isFile()) throw invalidInput(`${file} is not a file`);
            const content = new Uint8Array(await readFile(file));
            const report = await runtime.phishing.submit({ content, filename: basename(file), reporter: options.reporter, source: 'cli' }, actor);
            if (report.status === 'failed') failures++;
            out.data({ file, ...report }, () =>
              report.status === 'failed'
                ? `${file}: stored as report ${report.report_id} but not readable as e-mail: ${report.error?.message ?? ''}`
                : report.analyses
                    .map((a) => `${file}: ${a.verdict} (score ${a.score}) → case #${a.case_number}${a.joined ? ' (joined)' : ' (new)'}: ${a.subject}`)
                    .join('\n'),
            );
          } catch (error) {
            failures++;
            const code = (error as NodeJS.ErrnoException)?.code;
            const message = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describeError(error);
            out.data({ file, error: message }, () => `${file}: error: ${message}`);
          }
        }
      } finally {
        await runtime.close();
      }
      if (failures > 0) process.exitCode = 1;
    });
}

function operatorName(): string {
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}
