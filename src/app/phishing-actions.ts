import { z } from 'zod';
import type { CasesService } from '../cases/index.ts';
import { RiposteError, refang } from '../core/index.ts';
import { type ActionDefinition, defineAction } from '../engine/index.ts';
import type { Store } from '../store/index.ts';

/**
 * The `phishing.*` playbook actions (docs/phishing.md): read a stored analysis, compose the reporter's
 * e-mails (sanitised: no header injection from a reported subject), record findings and purge counts on the
 * case, and keep the organisation's block list of senders and URLs. They are registered everywhere so
 * playbooks validate; they act only inside a runtime, which binds the store and cases.
 */
export interface PhishingActionDeps {
  store: Store;
  cases: CasesService;
}

export interface PhishingActionBinding {
  deps?: PhishingActionDeps;
}

export const BLOCKLIST_SETTING = 'phishing.blocklist';

function bound(binding: PhishingActionBinding): PhishingActionDeps {
  if (!binding.deps) throw new RiposteError('phishing.not_available', 'phishing actions run only inside the Riposte server or a worker (they need the store)');
  return binding.deps;
}

/** One line of plain text: control characters (CR, LF, NUL…) and Unicode line separators become spaces. */
export function headerSafe(text: string, max = 200): string {
  const line = text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\u200b-\u200f\u2028\u2029\ufeff]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A reason line for the body (already one safe line): links defanged so nobody clicks them. */
function bodySafe(text: string, max = 500): string {
  const clean = text.replace(/\bhttp(s?):\/\//gi, 'hxxp$1://').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

const VERDICT_WORDS: Record<string, string> = {
  malicious: 'malicious (phishing)',
  suspicious: 'suspicious',
  spam: 'spam',
  graymail: 'safe (a bulk or marketing e-mail)',
  benign: 'safe',
  simulation: 'an authorised phishing simulation (well spotted!)',
};

const NoticeInput = z
  .object({
    template: z.enum(['acknowledgement', 'verdict']),
    reporter: z.string().min(3).max(320),
    subject: z.string().max(5000).default(''),
    case_number: z.number().int().nonnegative().optional(),
    verdict: z.string().max(40).optional(),
    reasons: z.array(z.string().max(2000)).max(50).default([]),
    purged: z.number().int().nonnegative().optional(),
    organisation: z.string().max(200).default('Security team'),
  })
  .strict();

/** The two reporter e-mails. Every value from the reported message passes `headerSafe`/`bodySafe` first. */
export function composeNotice(input: z.infer<typeof NoticeInput>): { to: string; subject: string; text: string } {
  const reported = headerSafe(input.subject, 120) || '(no subject)';
  const team = headerSafe(input.organisation, 80);
  const ref = input.case_number !== undefined ? ` [case #${input.case_number}]` : '';
  const to = headerSafe(input.reporter, 320);
  if (input.template === 'acknowledgement') {
    return {
      to,
      subject: `We received your report: "${reported}"${ref}`,
      text: `Thank you for reporting the e-mail "${reported}".\n\nWe are analysing it now and will tell you the result shortly. Please do not click its links or open its attachments in the meantime.\n\n${team}`,
    };
  }
  const verdict = input.verdict ?? 'unknown';
  const word = VERDICT_WORDS[verdict] ?? headerSafe(verdict, 40);
  const reasons = input.reasons.slice(0, 8).map((r) => `- ${bodySafe(headerSafe(r, 300))}`);
  const dangerous = verdict === 'malicious' || verdict === 'suspicious';
  const advice = dangerous
    ? `Do not click its links or open its attachments. If you already did, tell us at once by replying to this e-mail.${
        input.purged ? `\n\nWe removed ${input.purged} cop${input.purged === 1 ? 'y' : 'ies'} of it from mailboxes across the organisation.` : ''
      }`
    : verdict === 'spam'
      ? 'It is unwanted mail but not dangerous; you can delete it.'
      : 'It is safe; you can use it as usual.';
  return {
    to,
    subject: `Result of your report: "${reported}" is ${word}${ref}`,
    text: `We analysed the e-mail "${reported}" that you reported.\n\nResult: ${word}.\n${reasons.length > 0 ? `\nWhy:\n${reasons.join('\n')}\n` : ''}\n${advice}\n\nThank you for reporting it.\n${team}`,
  };
}

export function phishingActions(binding: PhishingActionBinding): ActionDefinition[] {
  const analysis = defineAction({
    id: 'phishing.analysis',
    title: 'A stored phishing analysis',
    description: 'The verdict, reasons, techniques and observables (refanged, for blocking and search) of a reported e-mail.',
    impact: 'read',
    input: z.object({ analysis_id: z.string().min(1).max(64) }).strict(),
    async run(input) {
      const { store } = bound(binding);
      const record = await store.phishing.getAnalysis(input.analysis_id);
      if (!record) throw new RiposteError('phishing.analysis_not_found', `no phishing analysis ${input.analysis_id}`, { status: 404 });
      const a = record.result as {
        subject: string;
        from: string | null;
        messageId: string | null;
        verdict: string;
        score: number;
        reasons: string[];
        techniques: string[];
        observables: { urls: string[]; domains: string[]; emails: string[]; hashes: string[] };
      };
      const reporters = await store.phishing.reportersOf(record.caseId);
      return {
        analysis_id: record.id,
        case_id: record.caseId,
        verdict: a.verdict,
        score: a.score,
        reasons: a.reasons,
        techniques: a.techniques,
        subject: a.subject,
        sender: a.from ? refang(a.from).toLowerCase() : null,
        message_id: a.messageId,
        urls: a.observables.urls.map(refang),
        domains: a.observables.domains.map(refang),
        hashes: a.observables.hashes,
        reporters: reporters.map((r) => r.reporter),
      };
    },
  });

  const notice = defineAction({
    id: 'phishing.compose_notice',
    title: "Compose the reporter's e-mail",
    description: 'The acknowledgement or the verdict e-mail, with every value from the reported message made safe for headers.',
    impact: 'read',
    input: NoticeInput,
    output: z.object({ to: z.string(), subject: z.string(), text: z.string() }),
    run: (input) => composeNotice(input),
  });

  const record = defineAction({
    id: 'phishing.record_findings',
    title: 'Record the findings on the case',
    impact: 'write',
    input: z
      .object({
        case_id: z.string().min(1).max(64),
        verdict: z.string().max(40),
        score: z.number(),
        reasons: z.array(z.string().max(2000)).max(100).default([]),
        techniques: z.array(z.string().max(20)).max(50).default([]),
        reporter: z.string().max(320).optional(),
      })
      .strict(),
    async run(input) {
      const { cases } = bound(binding);
      const current = await cases.getCase(input.case_id);
      const techniques = [...new Set([...current.techniques, ...input.techniques, 'T1566'])];
      const tags = [...new Set([...current.tags.filter((t) => !t.startsWith('verdict:')), 'phishing', `verdict:${input.verdict}`])];
      await cases.updateCase(input.case_id, { techniques, tags });
      const comment = await cases.addComment(input.case_id, {
        body: `Phishing triage: ${input.verdict} (score ${input.score})${input.reporter ? `, reported by ${input.reporter}` : ''}.\n${input.reasons.map((r) => `- ${r}`).join('\n')}`,
      });
      return { case_id: input.case_id, comment_id: comment.id, techniques };
    },
  });

  const block = defineAction({
    id: 'phishing.block_indicators',
    title: 'Block senders and URLs',
    description:
      "Adds senders and URLs to Riposte's phishing block list (setting phishing.blocklist, exported for mail gateways and proxies) until an EDL or gateway integration takes over.",
    impact: 'destructive',
    input: z
      .object({
        senders: z.array(z.string().min(3).max(320)).max(1000).default([]),
        urls: z.array(z.string().min(4).max(4000)).max(1000).default([]),
        case_id: z.string().max(64).optional(),
      })
      .strict(),
    inverse: 'phishing.unblock_indicators',
    async run(input) {
      const { store } = bound(binding);
      const list = (await store.settings.get<{ senders?: string[]; urls?: string[] }>(BLOCKLIST_SETTING)) ?? {};
      const senders = [...new Set([...(list.senders ?? []), ...input.senders.map((s) => s.toLowerCase())])];
      const urls = [...new Set([...(list.urls ?? []), ...input.urls])];
      await store.settings.set(BLOCKLIST_SETTING, { senders, urls });
      return { blocked_senders: input.senders.length, blocked_urls: input.urls.length, total_senders: senders.length, total_urls: urls.length };
    },
  });

  const unblock = defineAction({
    id: 'phishing.unblock_indicators',
    title: 'Unblock senders and URLs',
    impact: 'write',
    input: z
      .object({
        senders: z.array(z.string().max(320)).max(1000).default([]),
        urls: z.array(z.string().max(4000)).max(1000).default([]),
        case_id: z.string().max(64).optional(),
      })
      .strict(),
    async run(input) {
      const { store } = bound(binding);
      const list = (await store.settings.get<{ senders?: string[]; urls?: string[] }>(BLOCKLIST_SETTING)) ?? {};
      const drop = new Set([...input.senders.map((s) => s.toLowerCase()), ...input.urls]);
      const senders = (list.senders ?? []).filter((s) => !drop.has(s));
      const urls = (list.urls ?? []).filter((u) => !drop.has(u));
      await store.settings.set(BLOCKLIST_SETTING, { senders, urls });
      return { total_senders: senders.length, total_urls: urls.length };
    },
  });

  const purged = defineAction({
    id: 'phishing.record_purge',
    title: 'Record a campaign purge on the case',
    impact: 'write',
    input: z
      .object({
        case_id: z.string().min(1).max(64),
        searched: z.number().int().nonnegative(),
        found: z.number().int().nonnegative(),
        purged: z.number().int().nonnegative(),
        already_gone: z.number().int().nonnegative().default(0),
        failed: z.number().int().nonnegative().default(0),
        mailboxes: z.array(z.string().max(320)).max(100_000).default([]),
      })
      .strict(),
    async run(input) {
      const { cases } = bound(binding);
      const body =
        `Campaign purge: searched ${input.searched} mailbox(es), found ${input.found} cop(ies), purged ${input.purged}` +
        `${input.already_gone ? `, ${input.already_gone} already gone` : ''}${input.failed ? `, ${input.failed} FAILED` : ''}.` +
        `${input.mailboxes.length > 0 ? `\nMailboxes: ${input.mailboxes.slice(0, 50).join(', ')}${input.mailboxes.length > 50 ? ' …' : ''}` : ''}`;
      await cases.addComment(input.case_id, { body });
      await cases.appendTimeline(input.case_id, {
        kind: 'phishing.purged',
        summary: `Purged ${input.purged} of ${input.found} copies from ${input.mailboxes.length} mailbox(es)`,
        details: { ...input, mailboxes: input.mailboxes.length },
      });
      return { ...input, mailboxes: input.mailboxes.length };
    },
  });

  return [analysis, notice, record, block, unblock, purged] as ActionDefinition[];
}
