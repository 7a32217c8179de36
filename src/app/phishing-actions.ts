import { z } from 'zod';
import type { CasesService } from '../cases/index.ts';
import { type Clock, isRiposteError, parseDuration, RiposteError, refang } from '../core/index.ts';
import { type ActionDefinition, defineAction } from '../engine/index.ts';
import type { Store } from '../store/index.ts';
import { caseOfRun, DEFAULT_EDL_LISTS, EdlListName, EdlService, playbookActor, Ttl } from './edl.ts';
import type { EdlType } from './edl-values.ts';

/**
 * The `phishing.*` playbook actions (docs/phishing.md): read a stored analysis, compose the reporter's
 * e-mails (sanitised: no header injection from a reported subject), record findings and purge counts on the
 * case, and block the campaign's URLs, lookalike domains and senders on the External Dynamic Lists
 * Riposte serves (docs/edl.md) — where firewalls, proxies and mail gateways enforce them. They are
 * registered everywhere so playbooks validate; they act only inside a runtime, which binds the store and cases.
 */
export interface PhishingActionDeps {
  store: Store;
  cases: CasesService;
  /** Configured EDL list types (config `edl.lists`). */
  listTypes?: Readonly<Record<string, EdlType>>;
  clock?: Clock;
}

export interface PhishingActionBinding {
  deps?: PhishingActionDeps;
  /** How long a block lasts when the playbook gives no ttl (config `phishing.block_ttl`, ms). */
  blockTtlMs?: number;
}

/** 30 days: long enough to outlive a campaign, short enough that a mistaken block does not linger. */
const DEFAULT_BLOCK_TTL_MS = 30 * 86_400_000;

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
        signals?: Array<{ code: string; domain?: string }>;
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
        /** Domains the analysis found imitating a protected one (sender, Reply-To or link): worth blocking whole. */
        lookalike_domains: [
          ...new Set((a.signals ?? []).filter((g) => g.code.startsWith('lookalike_') && g.domain).map((g) => refang(g.domain as string).toLowerCase())),
        ],
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

  const edlOf = (deps: PhishingActionDeps) =>
    new EdlService({
      store: deps.store,
      cases: deps.cases,
      ...(deps.listTypes ? { listTypes: deps.listTypes } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  const lists = {
    url_list: EdlListName.default(DEFAULT_EDL_LISTS.url),
    domain_list: EdlListName.default(DEFAULT_EDL_LISTS.domain),
    sender_list: EdlListName.default(DEFAULT_EDL_LISTS.sender),
  };
  const kinds: Array<{ field: 'urls' | 'domains' | 'senders'; type: EdlType; list: 'url_list' | 'domain_list' | 'sender_list' }> = [
    { field: 'urls', type: 'url', list: 'url_list' },
    { field: 'domains', type: 'domain', list: 'domain_list' },
    { field: 'senders', type: 'sender', list: 'sender_list' },
  ];
  const Added = z.object({ urls: z.array(z.string()), domains: z.array(z.string()), senders: z.array(z.string()) });

  const block = defineAction({
    id: 'phishing.block_indicators',
    title: 'Block URLs, lookalike domains and senders',
    description:
      'Adds URLs to the URL EDL, domains to the domain EDL and sender addresses to the sender list Riposte serves (GET /edl/<list>), each until the ttl passes; firewalls, proxies and mail gateways that import them enforce the block. The inverse removes exactly the entries this call added.',
    impact: 'destructive',
    input: z
      .object({
        senders: z.array(z.string().min(3).max(320)).max(1000).default([]),
        urls: z.array(z.string().min(4).max(4000)).max(1000).default([]),
        /** Whole domains (lookalike sender or link domains): only those the analysis flagged, never the hosting site of a URL. */
        domains: z.array(z.string().min(3).max(253)).max(1000).default([]),
        /** How long the entries are served; default config phishing.block_ttl (30d). */
        ttl: Ttl.default(() => `${Math.round((binding.blockTtlMs ?? DEFAULT_BLOCK_TTL_MS) / 1000)}s`),
        reason: z.string().max(1000).optional(),
        case_id: z.string().max(64).optional(),
        ...lists,
      })
      .strict(),
    output: z.object({
      added: Added,
      refreshed: Added,
      refused: z.array(z.object({ type: z.string(), value: z.string(), message: z.string() })),
      expires_at: z.string().nullable(),
      blocked_urls: z.number(),
      blocked_domains: z.number(),
      blocked_senders: z.number(),
    }),
    inverse: 'phishing.unblock_indicators',
    // The rollback removes what this call put on the lists, not entries another case's block still needs.
    inverseInput: (input, output) => ({
      urls: output.added.urls,
      domains: output.added.domains,
      senders: output.added.senders,
      url_list: input.url_list,
      domain_list: input.domain_list,
      sender_list: input.sender_list,
      ...(input.case_id ? { case_id: input.case_id } : {}),
    }),
    async run(input, context) {
      const deps = bound(binding);
      const edl = edlOf(deps);
      const caseId = (await caseOfRun(deps.cases, context.runId, input.case_id)) ?? null;
      const ttlMs = parseDuration(input.ttl) as number;
      const added = { urls: [] as string[], domains: [] as string[], senders: [] as string[] };
      const refreshed = { urls: [] as string[], domains: [] as string[], senders: [] as string[] };
      const refused: Array<{ type: string; value: string; message: string }> = [];
      let expiresAt: string | null = null;
      for (const kind of kinds) {
        for (const value of new Set(input[kind.field])) {
          try {
            const result = await edl.add(
              {
                value,
                type: kind.type,
                list: input[kind.list],
                ttlMs,
                reason: input.reason ?? 'phishing campaign',
                caseId,
                runId: context.runId,
                actionKey: context.idempotencyKey,
              },
              playbookActor(context.runId),
            );
            expiresAt = result.entry.expires_at;
            // A retry of this same step finds its own entry: still ours to remove on rollback.
            (result.owned ? added : refreshed)[kind.field].push(result.entry.value);
          } catch (error) {
            // One unblockable value (a whole popular site) must not stop the rest of the campaign's block.
            if (!isRiposteError(error) || (error.code !== 'edl.invalid_value' && error.code !== 'input.invalid')) throw error;
            refused.push({ type: kind.type, value, message: error.message });
          }
        }
      }
      if (refused.length > 0 && caseId) {
        await deps.cases.appendTimeline(
          caseId,
          {
            kind: 'phishing.block_refused',
            summary: `Not blocked: ${refused.map((r) => `${r.value} (${r.message})`).join('; ')}`.slice(0, 2000),
            details: { refused },
          },
          playbookActor(context.runId),
        );
      }
      const count = (field: keyof typeof added) => added[field].length + refreshed[field].length;
      return {
        added,
        refreshed,
        refused,
        expires_at: expiresAt,
        blocked_urls: count('urls'),
        blocked_domains: count('domains'),
        blocked_senders: count('senders'),
      };
    },
    describeEffect: (input) =>
      `add ${input.urls.length} URL(s) to EDL ${input.url_list}, ${input.domains.length} domain(s) to ${input.domain_list} and ${input.senders.length} sender(s) to ${input.sender_list} for ${input.ttl}`,
  });

  const unblock = defineAction({
    id: 'phishing.unblock_indicators',
    title: 'Unblock URLs, domains and senders',
    description: 'Removes the given entries from the URL, domain and sender EDLs (what a phishing.block_indicators call added).',
    impact: 'write',
    // Not strict: a rollback may pass the block's own arguments (ttl, reason …), which are ignored here.
    input: z.object({
      senders: z.array(z.string().max(320)).max(1000).default([]),
      urls: z.array(z.string().max(4000)).max(1000).default([]),
      domains: z.array(z.string().max(253)).max(1000).default([]),
      reason: z.string().max(1000).optional(),
      case_id: z.string().max(64).optional(),
      ...lists,
    }),
    output: z.object({ removed: Added, absent: Added }),
    async run(input, context) {
      const deps = bound(binding);
      const edl = edlOf(deps);
      const caseId = (await caseOfRun(deps.cases, context.runId, input.case_id)) ?? null;
      const removed = { urls: [] as string[], domains: [] as string[], senders: [] as string[] };
      const absent = { urls: [] as string[], domains: [] as string[], senders: [] as string[] };
      for (const kind of kinds) {
        for (const value of new Set(input[kind.field])) {
          const result = await edl.remove(
            { value, type: kind.type, list: input[kind.list], ...(input.reason ? { reason: input.reason } : {}), caseId },
            playbookActor(context.runId),
          );
          (result.removed ? removed : absent)[kind.field].push(result.value);
        }
      }
      return { removed, absent };
    },
    describeEffect: (input) => `remove ${input.urls.length + input.domains.length + input.senders.length} entr(ies) from the phishing EDLs`,
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
