import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DemoContext, type DemoScenario, eventually, formatDuration, type ScenarioOutcome } from './scenario.ts';

/**
 * Scenario 2: two employees report the same "new voicemail" lure (a credential-harvesting page behind a
 * lookalike link) that landed in six mailboxes. Riposte analyses the email offline, acknowledges each
 * reporter at once and tells them the verdict by e-mail (through the demo's SMTP server), clusters both
 * reports into one case, and holds blocking the campaign and purging it from every mailbox (Microsoft Graph)
 * for approvers.
 */
export const CAMPAIGN_FILE = join(import.meta.dirname, '../../lab/demo-mail/voicemail-campaign.eml');

export interface DemoMailbox {
  /** Messages the demo's SMTP server received (reporter acknowledgements and verdicts). */
  received(): Array<{ to: string[]; subject: string }>;
  /** Copies of the campaign still in an inbox. */
  campaignInInboxes(): number;
}

/** A Subject header's RFC 2047 encoded words decoded (nodemailer encodes subjects with punctuation). */
function decodeSubject(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_m, encoding: string, text: string) =>
    encoding.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_h, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

export function phishingScenario(mail: DemoMailbox): DemoScenario {
  return {
    id: 'phishing',
    title: 'User-reported phishing',
    async play(context: DemoContext) {
      const { runtime, say } = context;
      const started = performance.now();
      const outcomes: ScenarioOutcome[] = [];
      const content = readFileSync(CAMPAIGN_FILE);
      let caseId: string | undefined;
      say(`  the voicemail lure sits in ${mail.campaignInInboxes()} inboxes; two people report it`);
      for (const reporter of ['ann.lee@examplecorp.com', 'raj.patel@examplecorp.com']) {
        const t0 = performance.now();
        const report = await runtime.phishing.submit({ content, reporter, source: 'api', filename: 'voicemail.eml' });
        const analysis = report.analyses[0];
        caseId ??= analysis?.case_id;
        const caseNumber = analysis?.case_number;
        const mailFor = (pattern: RegExp) => async () => mail.received().find((m) => m.to.includes(reporter) && pattern.test(decodeSubject(m.subject)));
        const acknowledged = await eventually(mailFor(/We received your report/), 15_000);
        const ackMs = performance.now() - t0;
        const told = await eventually(mailFor(/Result of your report/), 15_000);
        const notifiedMs = performance.now() - t0;
        say(
          `  ${reporter}: ${analysis?.verdict ?? report.status} → case #${caseNumber ?? '?'}; acknowledged ${acknowledged ? `in ${formatDuration(ackMs)}` : 'NOT YET'}, told the verdict ${told ? `in ${formatDuration(notifiedMs)}` : 'NOT YET'}`,
        );
        outcomes.push({
          subject: `report from ${reporter.split('@')[0]}`,
          decided: `${analysis?.verdict ?? report.status}${analysis ? `, score ${analysis.score}` : ''}`,
          done: `${acknowledged ? 'acknowledged' : 'not acknowledged'}, ${told ? 'told the verdict by e-mail' : 'verdict e-mail pending'}`,
          ...(caseNumber !== undefined ? { caseNumber } : {}),
          ms: notifiedMs,
        });
      }
      // The first report's run holds the containment (block sender and URLs, purge every mailbox) for approvers.
      const held = caseId
        ? await eventually(async () => {
            const runs = new Set((await runtime.cases.runsOf(caseId)).map((r) => r.run_id));
            return (await runtime.guardrails.inbox()).find((a) => a.run_id !== null && runs.has(a.run_id) && a.kind === 'policy');
          }, 15_000)
        : undefined;
      const c = caseId ? await runtime.cases.getCase(caseId) : undefined;
      outcomes.push({
        subject: 'campaign containment',
        decided: 'block sender and URLs, purge from every mailbox',
        done: held ? `held by policy (${held.action})` : `${mail.campaignInInboxes()} copies still in inboxes`,
        ...(held ? { waiting: `${held.required ?? 1} approval(s) for ${held.action}` } : {}),
        ...(c ? { caseNumber: c.number } : {}),
        ms: performance.now() - started,
      });
      if (held) say(`  containment held for approval: ${held.action} (approve in the UI as "approver", then the purge runs)`);
      return { title: this.title, manualBaseline: '45 min per report (headers, links, attachments, reply, purge)', outcomes, ms: performance.now() - started };
    },
  };
}
