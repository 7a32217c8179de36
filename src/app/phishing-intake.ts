import { createHash } from 'node:crypto';
import {
  type AnalyzeOptions,
  analyzeReport,
  DEFAULT_PHISHING_SETTINGS,
  describeAnalysisError,
  type EmailAnalysis,
  type PhishingSettings,
} from '../analyzers/index.ts';
import type { CasesService, Severity } from '../cases/index.ts';
import {
  type Actor,
  type Clock,
  type Config,
  isRiposteError,
  type Logger,
  newId,
  type ObservableType,
  RiposteError,
  refang,
  SYSTEM_ACTOR,
  systemClock,
  tryNormalizeObservable,
} from '../core/index.ts';
import type { PhishingAnalysisRecord, Store } from '../store/index.ts';

/**
 * Intake of user-reported phishing: a report (an .eml/.msg, or a report wrapping several emails) is kept as
 * received, analysed into one analysis per email it carries, and each analysis opens or joins a case.
 * Identical reports cluster into one case — same URL, same attachment hash, or same sender + subject —
 * and every reporter is recorded on it. Each analysis then announces `phishing.reported`, which starts
 * the triage playbook. The raw bytes are stored before analysis, so a report that cannot be read is
 * kept (status `failed`, with the reason) and can be looked at by an analyst.
 */
export const PHISHING_REPORTED_EVENT = 'phishing.reported';
export const MAX_REPORT_BYTES = 30 * 1024 * 1024;
/** The content type the UI's email view recognises an email analysis evidence file by. */
export const EMAIL_ANALYSIS_CONTENT_TYPE = 'application/vnd.riposte.email-analysis+json';

export interface PhishingSubmission {
  content: Uint8Array;
  filename?: string;
  reporter: string;
  /** api, cli, graph, imap. */
  source: string;
  /** Mailbox message id for polled reports; a message already taken is skipped. */
  externalId?: string;
}

export interface SubmittedAnalysis {
  analysis_id: string;
  case_id: string;
  case_number: number;
  /** True when the analysis joined an existing case (a cluster of identical reports). */
  joined: boolean;
  location: string;
  subject: string;
  from: string | null;
  verdict: string;
  score: number;
  reasons: string[];
}

export interface SubmittedReport {
  report_id: string;
  reporter: string;
  status: 'analysed' | 'failed';
  error?: { code: string; message: string };
  analyses: SubmittedAnalysis[];
}

export interface PhishingReportedEvent {
  name: typeof PHISHING_REPORTED_EVENT;
  report_id: string;
  analysis_id: string;
  case_id: string;
  case_number: number;
  joined: boolean;
  reporter: string;
  verdict: string;
  subject: string;
  /** The sender as written (defanged, for people). */
  from: string | null;
  /** The sender's address, refanged (for blocking and mailbox search). */
  sender: string | null;
  message_id: string | null;
}

export interface PhishingIntakeOptions {
  store: Store;
  cases: CasesService;
  logger: Logger;
  clock?: Clock;
  analyze?: AnalyzeOptions;
}

const EMAIL = /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;

/** The analyser's settings from config (`phishing.*`). */
export function phishingSettings(config: Config): PhishingSettings {
  const p = config.phishing;
  return {
    ownDomains: p.own_domains,
    protectedDomains: p.protected_domains,
    vips: p.vips,
    organisationNames: p.organisation_names,
    trustedAuthservIds: p.trusted_authserv_ids,
    simulationHeaders: p.simulation_headers.map((h) => (h.value === undefined ? { name: h.name } : { name: h.name, value: h.value })),
    freemailDomains: [...DEFAULT_PHISHING_SETTINGS.freemailDomains, ...p.freemail_domains],
  };
}

/** Checks and lower-cases a reporter address; a bad one is refused before anything is stored. */
export function reporterAddress(value: unknown): string {
  const text = typeof value === 'string' ? value.trim().replace(/^.*<([^>]+)>\s*$/, '$1') : '';
  if (!EMAIL.test(text)) throw new RiposteError('phishing.bad_reporter', 'reporter must be one e-mail address (e.g. ann@example.com)', { status: 400 });
  return text.toLowerCase();
}

const VERDICT_SEVERITY: Record<string, Severity> = {
  malicious: 'high',
  suspicious: 'medium',
  spam: 'low',
  graymail: 'informational',
  benign: 'informational',
  simulation: 'informational',
};

/** The keys under which identical reports meet: URLs, attachment hashes, and sender + subject. */
export function clusterKeys(analysis: EmailAnalysis): string[] {
  const keys: string[] = [];
  for (const url of analysis.observables.urls) keys.push(`url:${refang(url)}`);
  for (const hash of analysis.observables.hashes) keys.push(`sha256:${hash.toLowerCase()}`);
  const subject = analysis.subject
    .replace(/^\s*(?:(?:re|fw|fwd|aw|wg|tr)\s*:\s*)+/i, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  if (analysis.from) keys.push(`sender-subject:${refang(analysis.from).toLowerCase()}|${subject}`);
  return [...new Set(keys)];
}

export class PhishingIntake {
  readonly #store: Store;
  readonly #cases: CasesService;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #analyze: AnalyzeOptions;
  readonly #listeners = new Set<(event: PhishingReportedEvent) => void>();
  // Clustering looks up keys, then opens a case: one intake at a time in this process keeps two
  // identical reports arriving together from opening two cases.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: PhishingIntakeOptions) {
    this.#store = options.store;
    this.#cases = options.cases;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#analyze = options.analyze ?? {};
  }

  /** Called once per analysis stored (the triage playbook's trigger). */
  subscribe(listener: (event: PhishingReportedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  submit(submission: PhishingSubmission, actor: Actor = SYSTEM_ACTOR): Promise<SubmittedReport> {
    const reporter = reporterAddress(submission.reporter);
    if (submission.content.byteLength === 0)
      throw new RiposteError('phishing.empty_report', 'the report is empty: send the reported e-mail (.eml or .msg)', { status: 400 });
    if (submission.content.byteLength > MAX_REPORT_BYTES)
      throw new RiposteError('phishing.report_too_large', `the report is ${submission.content.byteLength} bytes; at most ${MAX_REPORT_BYTES} are accepted`, {
        status: 413,
      });
    const run = this.#queue.then(() => this.#submit({ ...submission, reporter }, actor));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #submit(submission: PhishingSubmission, actor: Actor): Promise<SubmittedReport> {
    const reportId = newId(this.#clock.now());
    const filename = (submission.filename ?? 'report.eml').replace(/[\r\n\0]/g, ' ').slice(0, 255) || 'report.eml';
    await this.#store.phishing.insertReport({
      id: reportId,
      source: submission.source,
      reporter: submission.reporter,
      filename,
      size: submission.content.byteLength,
      sha256: createHash('sha256').update(submission.content).digest('hex'),
      content: submission.content,
      externalId: submission.externalId ?? null,
      receivedAt: this.#clock.now(),
    });
    let analyses: EmailAnalysis[];
    try {
      analyses = (await analyzeReport(submission.content, this.#analyze)).analyses;
    } catch (error) {
      if (!isRiposteError(error)) this.#logger.warn({ report_id: reportId, err: String(error) }, 'phishing report could not be analysed');
      const reason = describeAnalysisError(error);
      await this.#store.phishing.markReport(reportId, 'failed', reason);
      return { report_id: reportId, reporter: submission.reporter, status: 'failed', error: reason, analyses: [] };
    }
    const results: SubmittedAnalysis[] = [];
    const events: PhishingReportedEvent[] = [];
    for (const analysis of analyses) {
      const { record, caseNumber, joined } = await this.#file(reportId, submission.reporter, analysis, actor);
      results.push({
        analysis_id: record.id,
        case_id: record.caseId,
        case_number: caseNumber,
        joined,
        location: analysis.location,
        subject: analysis.subject,
        from: analysis.from,
        verdict: analysis.verdict,
        score: analysis.score,
        reasons: analysis.reasons,
      });
      events.push({
        name: PHISHING_REPORTED_EVENT,
        report_id: reportId,
        analysis_id: record.id,
        case_id: record.caseId,
        case_number: caseNumber,
        joined,
        reporter: submission.reporter,
        verdict: analysis.verdict,
        subject: analysis.subject,
        from: analysis.from,
        sender: analysis.from ? refang(analysis.from).toLowerCase() : null,
        message_id: analysis.messageId,
      });
    }
    await this.#store.phishing.markReport(reportId, 'analysed');
    await this.#cases.recordAudit({
      actor,
      action: 'phishing.report_submitted',
      target: `phishing_report:${reportId}`,
      details: { reporter: submission.reporter, source: submission.source, analyses: results.map((r) => ({ case_id: r.case_id, verdict: r.verdict })) },
    });
    for (const event of events) {
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch (error) {
          this.#logger.warn({ err: String(error) }, 'phishing report listener failed');
        }
      }
    }
    return { report_id: reportId, reporter: submission.reporter, status: 'analysed', analyses: results };
  }

  async #file(
    reportId: string,
    reporter: string,
    analysis: EmailAnalysis,
    actor: Actor,
  ): Promise<{ record: PhishingAnalysisRecord; caseNumber: number; joined: boolean }> {
    const keys = clusterKeys(analysis);
    const observables = caseObservables(analysis);
    let caseId = await this.#store.phishing.caseForKeys(keys);
    let caseNumber: number;
    const joined = caseId !== undefined;
    if (caseId) {
      const existing = await this.#cases.getCase(caseId);
      caseNumber = existing.number;
      if (observables.length > 0) await this.#cases.addCaseObservables(caseId, observables, actor);
      await this.#cases.addComment(
        caseId,
        { body: `Reported again by ${reporter}: "${oneLine(analysis.subject)}" (${analysis.verdict}, score ${analysis.score}).` },
        actor,
      );
    } else {
      const created = await this.#cases.createCase(
        {
          title: `Reported phishing: ${oneLine(analysis.subject) || '(no subject)'}`.slice(0, 200),
          description: `Reported by ${reporter}. Verdict ${analysis.verdict} (score ${analysis.score}).\n\n${analysis.reasons.map((r) => `- ${r}`).join('\n')}`,
          severity: VERDICT_SEVERITY[analysis.verdict] ?? 'medium',
          tags: ['phishing', `verdict:${analysis.verdict}`],
          techniques: analysis.techniques,
          observables,
        },
        actor,
      );
      caseId = created.id;
      caseNumber = created.number;
      // The case's email view reads this file (headers, hops, auth results, links, attachments) as text; the
      // message's own HTML is not in it and is never rendered.
      await this.#cases.addEvidence(
        caseId,
        {
          name: 'reported.email-analysis.json',
          contentType: EMAIL_ANALYSIS_CONTENT_TYPE,
          description: `Analysis of the reported e-mail (${analysis.verdict}, score ${analysis.score})`,
          content: new TextEncoder().encode(JSON.stringify(analysis)),
        },
        actor,
      );
    }
    await this.#store.phishing.addKeys(caseId, keys);
    await this.#store.phishing.addReporter(caseId, reporter);
    const record: PhishingAnalysisRecord = {
      id: newId(this.#clock.now()),
      reportId,
      caseId,
      location: analysis.location,
      verdict: analysis.verdict,
      score: analysis.score,
      result: analysis,
      createdAt: this.#clock.now(),
    };
    await this.#store.phishing.insertAnalysis(record);
    return { record, caseNumber, joined };
  }
}

function oneLine(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
}

/** The analysis's observables in the case registry's types (refanged; the registry defangs on display). */
function caseObservables(analysis: EmailAnalysis): Array<{ type: string; value: string }> {
  const o = analysis.observables;
  const list: Array<{ type: ObservableType; value: string }> = [
    ...o.urls.map((v) => ({ type: 'url' as const, value: refang(v) })),
    ...o.domains.map((v) => ({ type: 'domain' as const, value: refang(v) })),
    ...o.ips.map((v) => ({ type: v.includes(':') ? ('ipv6' as const) : ('ipv4' as const), value: refang(v) })),
    ...o.emails.map((v) => ({ type: 'email' as const, value: refang(v) })),
    ...o.hashes.map((v) => ({ type: 'sha256' as const, value: v })),
  ];
  // A value the registry would refuse (an odd host in a link) is left out rather than failing the report.
  return list.filter((item) => tryNormalizeObservable(item.type, item.value) !== undefined).slice(0, 200);
}
