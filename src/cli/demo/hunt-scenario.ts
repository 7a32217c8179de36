import { SYSTEM_ACTOR } from '../../core/index.ts';
import { type DemoContext, type DemoScenario, eventually, formatDuration, type ScenarioOutcome } from './scenario.ts';

/**
 * Scenario 3: intelligence says a new adversary persists through a Run key pointing into the user's
 * AppData (ATT&CK T1547.001). The Sigma rule becomes an osquery hunt fanned out through Fleet over the
 * 200-endpoint fleet; hits land on one case with per-host evidence; remediation runs in waves (one canary,
 * then 10%, then the rest), each verified by re-query, and the wave with the critical server waits for an
 * approver.
 */
export const RUN_KEY_RULE = `title: Run key value pointing to a user-writable folder
id: 6f0c7a49-2a5e-4c1b-9c1e-1547a0000001
status: experimental
description: A Run key value launching from AppData\\Roaming, as the new campaign's loader does.
logsource: {category: registry_set, product: windows}
detection:
    selection_key:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains: '\\AppData\\Roaming\\'
    condition: all of selection_*
tags: [attack.persistence, attack.t1547.001]
level: high
`;

export const huntScenario: DemoScenario = {
  id: 'hunt',
  title: 'Hunt a new TTP across the fleet',
  async play(context: DemoContext) {
    const { runtime, say } = context;
    const started = performance.now();
    const outcomes: ScenarioOutcome[] = [];
    say('  Sigma rule (T1547.001) → osquery over Fleet, 200 endpoints');
    const hunt = await runtime.hunts.run({ sigma: RUN_KEY_RULE, edr: 'fleet', expires_in_ms: 4000 }, SYSTEM_ACTOR, (view) => {
      if (view.progress.answered > 0 && view.progress.answered % 50 === 0)
        say(`    ${view.progress.answered}/${view.progress.targeted} hosts answered, ${view.progress.hosts_hit} hit`);
    });
    const hosts = [...new Set(hunt.sightings.map((s) => s.hostname))].sort();
    const c = hunt.case_id ? await runtime.cases.getCase(hunt.case_id) : undefined;
    say(`  ${hosts.length} infected host(s) on case #${c?.number ?? '?'} (${hunt.progress.pending} offline when the hunt expired): ${hosts.join(', ')}`);
    outcomes.push({
      subject: `Run-key implant, ${hunt.progress.targeted} endpoints`,
      decided: `${hosts.length} infected, evidence captured per host`,
      done: `case with ATT&CK T1547.001${hunt.progress.pending ? `; ${hunt.progress.pending} offline host(s) to re-check` : ''}`,
      ...(c ? { caseNumber: c.number } : {}),
      ms: performance.now() - started,
    });
    if (hosts.length === 0) return { title: this.title, manualBaseline: 'days (export, grep, remote sessions)', outcomes, ms: performance.now() - started };

    const t0 = performance.now();
    await runtime.hunts.remediate(hunt.id, SYSTEM_ACTOR);
    // Waves run in the background: wait until they are done, halted, or one waits for an approver.
    const settled = await eventually(async () => {
      const r = runtime.hunts.runs.get(hunt.id).remediation;
      return r.status === 'completed' || r.status === 'halted' || r.waves.some((w) => w.status === 'waiting_approval') ? r : undefined;
    }, 30_000);
    const remediation = settled ?? runtime.hunts.runs.get(hunt.id).remediation;
    const waves = remediation.waves.map((w) => `${w.name} ${w.hosts.length} (${w.status})`).join(', ');
    say(`  remediation waves: ${waves}`);
    const waiting = remediation.waves.find((w) => w.status === 'waiting_approval');
    const cleaned = remediation.waves.filter((w) => w.status === 'verified').reduce((n, w) => n + w.hosts.length, 0);
    outcomes.push({
      subject: 'staged remediation (canary → 10% → rest)',
      decided: `${remediation.waves.length} wave(s); critical hosts need an approver`,
      done: `${cleaned} host(s) cleaned and verified by re-query`,
      ...(waiting
        ? {
            waiting: `wave "${waiting.name}" with ${waiting.hosts
              .filter((h) => h.criticality === 'critical')
              .map((h) => h.hostname)
              .join(', ')} (POST /api/v1/hunts/{id}/waves/${waiting.index}/approve)`,
          }
        : {}),
      ...(c ? { caseNumber: c.number } : {}),
      ms: performance.now() - t0,
    });
    say(`  ${cleaned} host(s) cleaned and verified${waiting ? `; the critical wave waits for an approver` : ''} (${formatDuration(performance.now() - t0)})`);
    return { title: this.title, manualBaseline: 'days (export, grep, remote sessions, change tickets)', outcomes, ms: performance.now() - started };
  },
};
