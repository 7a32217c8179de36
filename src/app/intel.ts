import type { CasesService } from '../cases/index.ts';
import type { PlaybookDirectory } from '../engine/index.ts';
import { type AttackCatalog, type CaseStixInput, caseToStixBundle } from '../intel/index.ts';
import type { Store } from '../store/index.ts';

/**
 * Where cases, playbooks and intel meet: a case exported as a STIX bundle (intel does not know cases, so the
 * case is read here and handed over as a plain shape), and ATT&CK coverage across cases and playbooks.
 */
export async function caseStixBundle(cases: CasesService, catalog: AttackCatalog, ref: string) {
  const c = await cases.getCase(ref);
  const observables = await cases.observablesOf(c.id);
  const alerts: CaseStixInput['alerts'] = [];
  let after: string | undefined;
  for (;;) {
    const page = await cases.alertsOf(c.id, { limit: 200, ...(after ? { after } : {}) });
    for (const a of page)
      alerts.push({
        id: a.id,
        title: a.title,
        time: a.time,
        received_at: a.received_at,
        last_seen_at: a.last_seen_at,
        count: a.count,
        observables: a.observables,
        techniques: a.techniques,
      });
    if (page.length < 200) break;
    after = page[page.length - 1]?.id;
  }
  return caseToStixBundle({ case: c, observables, alerts }, catalog);
}

export interface AttackCoverage {
  tactics: Array<{
    id: string;
    shortname: string;
    name: string;
    techniques: Array<{ id: string; name: string; cases: number; detected_by: string[]; responded_by: string[] }>;
  }>;
  totals: { techniques_on_cases: number; techniques_detected: number; techniques_responded: number; techniques_in_catalog: number };
}

/** Per tactic: techniques seen on cases (with case counts) and techniques our playbooks detect or respond to. */
export async function attackCoverage(store: Store, catalog: AttackCatalog, playbooks: PlaybookDirectory | undefined): Promise<AttackCoverage> {
  const facts = new Map<string, { cases: number; detected_by: Set<string>; responded_by: Set<string> }>();
  const factsOf = (id: string) => {
    const key = id.toUpperCase();
    let f = facts.get(key);
    if (!f) {
      f = { cases: 0, detected_by: new Set(), responded_by: new Set() };
      facts.set(key, f);
    }
    return f;
  };
  for (const row of await store.intel.caseTechniqueCounts()) factsOf(row.technique).cases += row.cases;
  for (const file of playbooks?.files() ?? []) {
    const p = file.playbook;
    if (!p?.attack) continue;
    for (const t of p.attack.detects) factsOf(t).detected_by.add(p.id);
    for (const t of p.attack.responds_to) factsOf(t).responded_by.add(p.id);
  }
  const tactics: AttackCoverage['tactics'] = catalog.tactics.map((t) => ({ id: t.id, shortname: t.shortname, name: t.name, techniques: [] }));
  const byShortname = new Map(tactics.map((t) => [t.shortname, t]));
  for (const [id, f] of [...facts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const technique = catalog.technique(id);
    if (!technique) continue;
    for (const tactic of technique.tactics)
      byShortname.get(tactic)?.techniques.push({
        id: technique.id,
        name: technique.name,
        cases: f.cases,
        detected_by: [...f.detected_by].sort(),
        responded_by: [...f.responded_by].sort(),
      });
  }
  const all = [...facts.values()];
  return {
    tactics,
    totals: {
      techniques_on_cases: all.filter((f) => f.cases > 0).length,
      techniques_detected: all.filter((f) => f.detected_by.size > 0).length,
      techniques_responded: all.filter((f) => f.responded_by.size > 0).length,
      techniques_in_catalog: catalog.techniques().filter((t) => !t.revoked && !t.deprecated).length,
    },
  };
}
