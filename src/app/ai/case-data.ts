import { parseMessage } from '../../analyzers/index.ts';
import type { CasesService, CaseView } from '../../cases/index.ts';
import { RiposteError } from '../../core/index.ts';
import type { PlaybookDirectory } from '../../engine/index.ts';
import type { AttackCatalog, IndicatorHit, IndicatorStore } from '../../intel/index.ts';
import type { Store } from '../../store/index.ts';
import { redactText, redactValue } from './redaction.ts';
import type { DataBlock } from './untrusted-data.ts';

/**
 * Gathers what the model may see of a case, as labelled untrusted blocks (redacted of secrets): the case's
 * own fields, its alerts (title, description, rule, the vendor's raw event, truncated), observables with
 * their stored verdicts, reasons and per-source evidence, reported e-mails (subject, sender, headers, body),
 * intel indicators that matched (TLP:RED ones withheld unless allowed), comments and the timeline.
 */
export interface CaseObservable {
  type: string;
  value: string;
  verdict: string | null;
  confidence: number | null;
}

export interface MenuPlaybook {
  id: string;
  title: string;
  valid: boolean;
  inputs: Record<string, { type: string; required: boolean; default?: unknown; enum?: unknown[]; description?: string }>;
}

export interface Menu {
  mitigations: Array<{ id: string; name: string; technique: string }>;
  playbooks: MenuPlaybook[];
}

export interface CaseData {
  caseId: string;
  caseNumber: number;
  techniques: string[];
  observables: CaseObservable[];
  /** The observable an explanation is about (asked for, or the one with the strongest verdict). */
  explained: CaseObservable | undefined;
  blocks: DataBlock[];
  withheld: { tlp_red: number };
  menu?: Menu | undefined;
}

export interface CaseDataDeps {
  store: Store;
  cases: CasesService;
  indicators?: IndicatorStore;
  allowTlpRed: boolean;
  secretValues: readonly string[];
}

const LIMITS = { alerts: 10, rawChars: 2000, observables: 40, comments: 30, timeline: 40, emails: 5, bodyChars: 6000, indicators: 20 };
const VERDICT_RANK: Record<string, number> = { malicious: 5, suspicious: 4, unknown: 2, benign: 1 };

interface RunVerdict {
  verdict: string;
  confidence: number | null;
  reasons: unknown[];
}

const LINKED_RUNS = 10;

/**
 * Verdicts a playbook reached but did not write back onto the observable (a playbook without the
 * `cases.*` steps): the output of its verdict step (`{observable, verdict, confidence, reasons}`), newest
 * run first — the same fallback the case view shows.
 */
async function verdictsFromLinkedRuns(deps: CaseDataDeps, caseId: string): Promise<Map<string, RunVerdict>> {
  const out = new Map<string, RunVerdict>();
  const links = await deps.cases.runsOf(caseId);
  for (const link of links.slice(-LINKED_RUNS).reverse()) {
    for (const entry of await deps.store.engine.journal(link.run_id)) {
      if (entry.kind !== 'step_completed') continue;
      const output = (entry.data as { output?: unknown } | null)?.output as
        | { observable?: unknown; verdict?: unknown; confidence?: unknown; reasons?: unknown }
        | null
        | undefined;
      if (!output || typeof output.observable !== 'string' || typeof output.verdict !== 'string' || !Array.isArray(output.reasons)) continue;
      if (out.has(output.observable)) continue;
      out.set(output.observable, {
        verdict: output.verdict,
        confidence: typeof output.confidence === 'number' ? output.confidence : null,
        reasons: output.reasons,
      });
    }
  }
  return out;
}

export async function collectCaseData(deps: CaseDataDeps, c: CaseView, observable?: string): Promise<CaseData> {
  const secrets = deps.secretValues;
  const text = (value: unknown) => redactText(typeof value === 'string' ? value : JSON.stringify(redactValue(value, secrets)), secrets);
  const blocks: DataBlock[] = [];
  const add = (label: string, content: unknown) => {
    const body = text(content);
    if (body.trim() !== '') blocks.push({ label, content: body });
  };

  add(
    'case',
    [
      `id: ${c.id}`,
      `number: ${c.number}`,
      `title: ${c.title}`,
      `severity: ${c.severity}`,
      `status: ${c.status}`,
      `phase: ${c.phase}`,
      `tlp: ${c.tlp}`,
      `techniques: ${c.techniques.join(', ')}`,
      `tags: ${c.tags.join(', ')}`,
      `assignee: ${c.assignee ?? '-'}`,
      `alerts: ${c.alert_count}`,
      `created: ${c.created_at}`,
    ].join('\n'),
  );
  if (c.description) add('case description', c.description);

  const alerts = await deps.cases.alertsOf(c.id, { limit: LIMITS.alerts });
  alerts.forEach((a, i) => {
    const n = i + 1;
    add(`alert ${n} field title`, a.title);
    if (a.description) add(`alert ${n} field description`, a.description);
    add(`alert ${n} field rule`, `${a.rule?.name ?? ''} (${a.product?.vendor ?? ''} ${a.product?.name ?? ''}, severity ${a.severity})`);
    if (a.raw !== undefined && a.raw !== null) {
      const raw = text(a.raw);
      add(`alert ${n} field raw`, raw.length > LIMITS.rawChars ? `${raw.slice(0, LIMITS.rawChars)}… [truncated]` : raw);
    }
  });

  const all = await deps.cases.observablesOf(c.id);
  const fromRuns = all.some((o) => o.verdict === null) ? await verdictsFromLinkedRuns(deps, c.id) : new Map<string, RunVerdict>();
  const observables: CaseObservable[] = all.slice(0, LIMITS.observables).map((o) => {
    const run = o.verdict === null ? fromRuns.get(o.value) : undefined;
    return { type: o.type, value: o.value, verdict: o.verdict ?? run?.verdict ?? null, confidence: o.confidence ?? run?.confidence ?? null };
  });
  if (observable !== undefined && !all.some((o) => o.value === observable))
    throw new RiposteError('input.invalid', `observable ${JSON.stringify(observable)} is not on case #${c.number}`, { status: 400 });
  observables.forEach((o, i) => {
    const n = i + 1;
    const stored = all[i];
    add(`observable ${n}`, [`type: ${o.type}`, `value: ${o.value}`, `verdict: ${o.verdict ?? 'none'}`, `confidence: ${o.confidence ?? '-'}`].join('\n'));
    const enrichment = (stored?.enrichment ?? {}) as {
      reasons?: unknown;
      sources?: Record<string, { evaluation?: string; reliability?: number; summary?: string; error?: string }>;
    };
    const reasons = Array.isArray(enrichment.reasons) && enrichment.reasons.length > 0 ? enrichment.reasons : (fromRuns.get(o.value)?.reasons ?? []);
    if (reasons.length > 0) add(`observable ${n} reasons`, reasons.map((r) => `- ${String(r)}`).join('\n'));
    if (enrichment.sources && typeof enrichment.sources === 'object') {
      const lines = Object.entries(enrichment.sources).map(
        ([source, r]) =>
          `- ${source}: ${r.evaluation ?? 'unknown'}${r.reliability !== undefined ? ` (reliability ${r.reliability})` : ''}${r.summary ? ` — ${r.summary}` : ''}${r.error ? ` — error: ${r.error}` : ''}`,
      );
      if (lines.length > 0) add(`observable ${n} evidence`, lines.join('\n'));
    }
  });

  // Reported e-mails: the raw message is stored, so the model sees what the user saw (subject, headers, body).
  const analyses = await deps.store.phishing.analysesOfCase(c.id);
  const seenReports = new Set<string>();
  let emailNumber = 0;
  for (const analysis of analyses) {
    if (emailNumber >= LIMITS.emails || seenReports.has(analysis.reportId)) continue;
    seenReports.add(analysis.reportId);
    emailNumber++;
    const result = (analysis.result ?? {}) as { subject?: string; from?: string | null; reasons?: string[]; verdict?: string; score?: number };
    add(`email ${emailNumber} subject`, result.subject ?? '');
    add(`email ${emailNumber} from`, result.from ?? '');
    add(`email ${emailNumber} analysis`, `verdict ${analysis.verdict} (score ${analysis.score})\n${(result.reasons ?? []).map((r) => `- ${r}`).join('\n')}`);
    const content = await deps.store.phishing.reportContent(analysis.reportId);
    if (content) {
      const parsed = await parseReportedEmail(content);
      if (parsed) {
        add(`email ${emailNumber} headers`, parsed.headers);
        add(`email ${emailNumber} body`, parsed.body.length > LIMITS.bodyChars ? `${parsed.body.slice(0, LIMITS.bodyChars)}… [truncated]` : parsed.body);
      }
    }
  }

  // Intel that matched the case's observables: descriptions are third-party text, and TLP:RED stays home.
  let withheldRed = 0;
  if (deps.indicators) {
    const hits: IndicatorHit[] = [];
    for (const o of observables) {
      const index = deps.indicators.index;
      const found =
        o.type === 'ipv4' || o.type === 'ipv6'
          ? index.lookupIp(o.value)
          : o.type === 'domain'
            ? index.lookupDomain(o.value)
            : o.type === 'url'
              ? index.lookupUrl(o.value)
              : [];
      hits.push(...found);
    }
    const ids = [...new Set(hits.map((h) => h.indicatorId))].slice(0, LIMITS.indicators);
    const red = new Set(hits.filter((h) => h.tlp === 'red').map((h) => h.indicatorId));
    const allowed = ids.filter((id) => deps.allowTlpRed || !red.has(id));
    withheldRed = ids.length - allowed.length;
    if (allowed.length > 0) {
      let n = 0;
      for (const collection of await deps.store.intel.listCollections()) {
        const { objects } = await deps.store.intel.queryObjects({ collection: collection.id, ids: allowed, limit: allowed.length });
        for (const object of objects) {
          if (object.tlp === 'red' && !deps.allowTlpRed) {
            withheldRed++;
            continue;
          }
          n++;
          const raw = object.raw as { name?: string; description?: string; pattern?: string; labels?: string[]; confidence?: number };
          add(
            `intel indicator ${n}`,
            [
              `name: ${raw.name ?? ''}`,
              `pattern: ${raw.pattern ?? ''}`,
              `confidence: ${raw.confidence ?? '-'}`,
              `labels: ${(raw.labels ?? []).join(', ')}`,
              `tlp: ${object.tlp ?? '-'}`,
            ].join('\n'),
          );
          if (raw.description) add(`intel indicator ${n} description`, raw.description);
        }
      }
    }
  }

  const comments = await deps.cases.listComments(c.id, { limit: LIMITS.comments });
  for (const [i, comment] of comments.entries()) add(`comment ${i + 1} by ${comment.author.name ?? comment.author.id}`, comment.body);

  const timeline = await deps.cases.timeline(c.id, { limit: 500 });
  // The assistant's own entries are about earlier answers, not the incident: leaving them out keeps an old
  // injection warning from being read back as a new attempt.
  const incidentEntries = timeline.items.filter((entry) => !entry.kind.startsWith('ai.')).slice(-LIMITS.timeline);
  for (const [i, entry] of incidentEntries.entries()) add(`timeline ${i + 1}`, `${entry.at} ${entry.kind}: ${entry.summary}`);

  const ranked = [...observables].sort((a, b) => (VERDICT_RANK[b.verdict ?? ''] ?? 0) - (VERDICT_RANK[a.verdict ?? ''] ?? 0));
  const explained = observable !== undefined ? observables.find((o) => o.value === observable) : ranked.find((o) => o.verdict !== null);
  return { caseId: c.id, caseNumber: c.number, techniques: c.techniques, observables, explained, blocks, withheld: { tlp_red: withheldRed } };
}

async function parseReportedEmail(bytes: Uint8Array): Promise<{ headers: string; body: string } | undefined> {
  try {
    const email = await parseMessage(bytes);
    const headers = email.headers
      .filter((h) => ['from', 'to', 'subject', 'reply-to', 'return-path', 'date', 'x-mailer', 'received'].includes(h.key))
      .slice(0, 20)
      .map((h) => `${h.key}: ${h.value}`)
      .join('\n');
    const body = email.text || email.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    return { headers, body };
  } catch {
    return undefined;
  }
}

/** The menu next steps must choose from: ATT&CK mitigations of the case's techniques, and the loaded playbooks. */
export function nextStepsMenu(c: CaseView, attack: AttackCatalog, playbooks: PlaybookDirectory): Menu {
  const mitigations: Menu['mitigations'] = [];
  const seen = new Set<string>();
  for (const technique of c.techniques) {
    const parent = technique.split('.')[0] as string;
    for (const m of [...attack.mitigationsOf(technique), ...(parent !== technique ? attack.mitigationsOf(parent) : [])]) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      mitigations.push({ id: m.id, name: m.name, technique });
      if (mitigations.length >= 15) break;
    }
  }
  const menuPlaybooks: MenuPlaybook[] = playbooks
    .files()
    .flatMap((f) => (f.playbook ? [{ playbook: f.playbook, valid: f.issues.length === 0 }] : []))
    .slice(0, 30)
    .map(({ playbook, valid }) => ({
      id: playbook.id,
      title: playbook.title ?? playbook.id,
      valid,
      inputs: Object.fromEntries(
        Object.entries(playbook.inputs ?? {}).map(([name, spec]) => [
          name,
          {
            type: spec.type,
            required: spec.required,
            ...(spec.default !== undefined ? { default: spec.default } : {}),
            ...(spec.enum ? { enum: spec.enum } : {}),
            ...(spec.description ? { description: spec.description } : {}),
          },
        ]),
      ),
    }));
  return { mitigations, playbooks: menuPlaybooks };
}
