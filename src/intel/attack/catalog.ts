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
}

export const DEFAULT_ATTACK_FILE = new URL('../../../data/attack/enterprise-attack.json', import.meta.url);

let cached: AttackCatalog | undefined;

export function loadAttackCatalog(file: URL | string = DEFAULT_ATTACK_FILE): AttackCatalog {
  if (cached && file === DEFAULT_ATTACK_FILE) return cached;
  let raw: { source: string; source_commit: string; license: string; tactics: AttackTactic[]; techniques: AttackTechnique[] };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RiposteError('intel.attack_unreadable', `cannot read the ATT&CK catalog ${String(file)}: ${(error as Error).message}`, { cause: error });
  }
  const byId = new Map(raw.techniques.map((t) => [t.id.toUpperCase(), t]));
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
  };
  if (file === DEFAULT_ATTACK_FILE) cached = catalog;
  return catalog;
}
