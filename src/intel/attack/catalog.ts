import { readFileSync } from 'node:fs';
import { RiposteError } from '../../core/index.ts';

/**
 * The MITRE ATT&CK Enterprise catalog shipped in data/attack (see its README for attribution): tactics,
 * techniques and sub-techniques, mitigations. Loaded once; lookups are by technique id ("T1059.001").
 */
export interface AttackTechnique {
  id: string;
  name: string;
  tactics: string[];
  platforms: string[];
  subtechnique: boolean;
  deprecated: boolean;
  revoked: boolean;
  url: string;
  summary?: string;
  /** The technique's STIX id in MITRE's ATT&CK bundle (attack-pattern--…). */
  stix_id?: string;
}

export interface AttackMitigation {
  id: string;
  name: string;
  stix_id?: string;
  deprecated: boolean;
  revoked: boolean;
}

export interface AttackTactic {
  id: string;
  shortname: string;
  name: string;
  url: string;
}

export interface AttackCatalog {
  source: string;
  sourceCommit: string;
  license: string;
  tactics: AttackTactic[];
  /** Every technique id, including deprecated and revoked ones (they are kept for old data). */
  technique(id: string): AttackTechnique | undefined;
  /** True for ids of current techniques (not revoked or deprecated). */
  techniqueExists(id: string): boolean;
  techniqueCount: number;
  /** Every technique (including revoked and deprecated ones), in id order. */
  techniques(): readonly AttackTechnique[];
  /** Mitigations that address a technique (from MITRE's "mitigates" relationships). */
  mitigationsOf(id: string): AttackMitigation[];
  /** Tactic objects for a technique, in kill-chain order. */
  tacticsOf(id: string): AttackTactic[];
  /**
   * Current techniques matching a free-text query: an exact id first, then id prefixes, then names containing
   * every word, then summaries containing every word.
   */
  search(query: string, limit?: number): AttackTechnique[];
}

export const DEFAULT_ATTACK_FILE = new URL('../../../data/attack/enterprise-attack.json', import.meta.url);

let cached: AttackCatalog | undefined;

export function loadAttackCatalog(file: URL | string = DEFAULT_ATTACK_FILE): AttackCatalog {
  if (cached && file === DEFAULT_ATTACK_FILE) return cached;
  let raw: {
    source: string;
    source_commit: string;
    license: string;
    tactics: AttackTactic[];
    techniques: AttackTechnique[];
    mitigations?: AttackMitigation[];
    mitigates?: Array<[string, string]>;
  };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RiposteError('intel.attack_unreadable', `cannot read the ATT&CK catalog ${String(file)}: ${(error as Error).message}`, { cause: error });
  }
  const byId = new Map(raw.techniques.map((t) => [t.id.toUpperCase(), t]));
  const sorted = [...raw.techniques].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const mitigationById = new Map((raw.mitigations ?? []).map((m) => [m.id, m]));
  const mitigationsByTechnique = new Map<string, AttackMitigation[]>();
  for (const [mitigation, technique] of raw.mitigates ?? []) {
    const m = mitigationById.get(mitigation);
    if (!m || m.revoked || m.deprecated) continue;
    const list = mitigationsByTechnique.get(technique.toUpperCase()) ?? [];
    list.push(m);
    mitigationsByTechnique.set(technique.toUpperCase(), list);
  }
  const tacticByShortname = new Map(raw.tactics.map((t) => [t.shortname, t]));
  const tacticOrder = new Map(raw.tactics.map((t, i) => [t.shortname, i]));
  const current = (t: AttackTechnique) => !t.revoked && !t.deprecated;
  const catalog: AttackCatalog = {
    source: raw.source,
    sourceCommit: raw.source_commit,
    license: raw.license,
    tactics: raw.tactics,
    technique: (id) => byId.get(id.toUpperCase()),
    techniqueExists: (id) => {
      const t = byId.get(id.toUpperCase());
      return t !== undefined && !t.revoked && !t.deprecated;
    },
    techniqueCount: byId.size,
    techniques: () => sorted,
    mitigationsOf: (id) => [...(mitigationsByTechnique.get(id.toUpperCase()) ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1)),
    tacticsOf: (id) =>
      [...(byId.get(id.toUpperCase())?.tactics ?? [])]
        .sort((a, b) => (tacticOrder.get(a) ?? 99) - (tacticOrder.get(b) ?? 99))
        .map((shortname) => tacticByShortname.get(shortname))
        .filter((t): t is AttackTactic => t !== undefined),
    search(query, limit = 25) {
      const q = query.trim().toLowerCase();
      if (q === '') return sorted.filter(current).slice(0, limit);
      const words = q.split(/\s+/);
      const ranked: Array<[number, AttackTechnique]> = [];
      for (const t of sorted) {
        if (!current(t)) continue;
        const id = t.id.toLowerCase();
        const name = t.name.toLowerCase();
        const summary = (t.summary ?? '').toLowerCase();
        let rank = -1;
        if (id === q) rank = 0;
        else if (id.startsWith(q)) rank = 1;
        else if (words.every((w) => name.includes(w))) rank = 2;
        else if (words.every((w) => name.includes(w) || summary.includes(w))) rank = 3;
        if (rank >= 0) ranked.push([rank, t]);
      }
      return ranked
        .sort((a, b) => a[0] - b[0])
        .slice(0, limit)
        .map(([, t]) => t);
    },
  };
  if (file === DEFAULT_ATTACK_FILE) cached = catalog;
  return catalog;
}
