import { fireIpAlert, SEED_IPS } from '../../lab/index.ts';
import { type DemoContext, type DemoScenario, eventually, formatDuration, type ScenarioOutcome } from './scenario.ts';
import { DEMO_ASSETS } from './world.ts';

/**
 * Scenario 1: SIEM alerts (Splunk notables through the real webhook) about four outside IPs — a malicious
 * host talking to an ordinary web server, the same kind of host talking to a critical domain controller, a
 * CDN edge and a partner's VPN gateway. Riposte enriches each from six sources in parallel, decides, and
 * acts by policy: block + ticket, hold for an approver, or annotate only.
 */
export const ipScenario: DemoScenario = {
  id: 'ip',
  title: 'Suspicious IP from a SIEM alert',
  async play(context: DemoContext) {
    const { runtime, say } = context;
    const started = performance.now();
    const outcomes: ScenarioOutcome[] = [];
    if (!runtime.playbooks.get('ip-enrichment')) {
      say('  the ip-enrichment playbook is not valid here (riposte playbook validate): nothing to play');
      return { title: this.title, manualBaseline: '15–30 min per IP', outcomes, ms: 0 };
    }
    const ipOf = (profile: string) => SEED_IPS.find((s) => s.profile === profile)?.ip as string;
    const alerts = [
      { ip: ipOf('malicious'), profile: 'malicious', host: DEMO_ASSETS.web.ip, hostLabel: DEMO_ASSETS.web.name },
      { ip: ipOf('malicious'), profile: 'malicious', host: DEMO_ASSETS.critical.ip, hostLabel: `${DEMO_ASSETS.critical.name} (critical)` },
      { ip: ipOf('cdn'), profile: 'CDN edge', host: DEMO_ASSETS.laptop.ip, hostLabel: DEMO_ASSETS.laptop.name },
      { ip: ipOf('partner'), profile: 'partner VPN', host: DEMO_ASSETS.app.ip, hostLabel: DEMO_ASSETS.app.name },
    ];
    // Fixed alert times (today, a minute apart): re-running the demo the same day resends identical
    // notables, which Riposte recognises as repeats, so the earlier cases and runs are reported, not duplicated.
    const today = Math.floor(Date.now() / 86_400_000) * 86_400;
    for (const [index, alert] of alerts.entries()) {
      const t0 = performance.now();
      const subject = `${alert.ip} (${alert.profile}) ↔ ${alert.hostLabel}`;
      const answer = await fireIpAlert(context.url, context.webhookToken, { ip: alert.ip, dest: alert.host, time: today + index * 60 });
      const caseId = (answer.body as { results?: Array<{ case_id: string }> }).results?.[0]?.case_id;
      if (answer.status >= 300 || !caseId) {
        outcomes.push({ subject, decided: `alert refused (HTTP ${answer.status})`, done: 'nothing', ms: performance.now() - t0 });
        continue;
      }
      // The run the trigger started for this alert (a re-run of the demo finds the earlier one).
      const runId = await eventually(async () => {
        for (const link of await runtime.cases.runsOf(caseId)) {
          const inputs = (await runtime.engine.getRun(link.run_id)).inputs as { ip?: string; host?: string } | null;
          if (inputs?.ip === alert.ip && (inputs.host === undefined || inputs.host === alert.host)) return link.run_id;
        }
        return undefined;
      }, 10_000);
      const run = runId ? await runtime.engine.waitForRun(runId, 20_000, { untilWaiting: true }) : undefined;
      const out = (run?.output ?? {}) as {
        verdict?: string;
        confidence?: number;
        reasons?: string[];
        response?: string;
        blocked_until?: string;
        ticket?: string;
      };
      const c = await runtime.cases.getCase(caseId);
      const ms = performance.now() - t0;
      let decided = out.verdict ? `${out.verdict}, confidence ${out.confidence}` : (run?.status ?? 'no run');
      let done = 'annotated the case';
      let waiting: string | undefined;
      if (run?.status === 'waiting') {
        const pending = (await runtime.guardrails.inbox()).find((a) => a.run_id === run.id);
        decided = `${out.verdict ?? 'malicious'}; block held by policy`;
        done = 'enriched; verdict and reasons on the case';
        waiting = `${pending?.required ?? 1} approval(s) for the block (critical asset)`;
      } else if (out.response === 'blocked') {
        done = `blocked on the EDL until ${out.blocked_until?.slice(0, 16).replace('T', ' ')}${out.ticket ? `, ticket ${out.ticket}` : ''}`;
      } else if (out.response === 'refused') {
        done = 'block refused by policy; case explains why';
      }
      outcomes.push({ subject, decided, done, ...(waiting ? { waiting } : {}), caseNumber: c.number, ms });
      say(`  ${subject} → case #${c.number}: ${decided}; ${waiting ? `waiting: ${waiting}` : done} (${formatDuration(ms)})`);
      for (const reason of (out.reasons ?? []).slice(0, 2)) say(`      · ${reason}`);
    }
    return { title: this.title, manualBaseline: '15–30 min per IP (six consoles, CMDB, ticket, firewall)', outcomes, ms: performance.now() - started };
  },
};
