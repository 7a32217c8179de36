import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ActionCatalog } from './actions.ts';
import { loadPlaybookFile, type PlaybookCatalog, type PlaybookIssue } from './playbook-loader.ts';
import type { Playbook } from './playbook-schema.ts';

/**
 * The playbooks folder as a catalog: every `*.yml`/`*.yaml` that is not a `*.test.yml`, loaded and
 * validated against the registered actions and against each other (for `call`). Files with problems
 * are listed with their issues and left out of the catalog.
 */
export interface PlaybookFile {
  file: string;
  playbook: Playbook | undefined;
  issues: PlaybookIssue[];
}

export interface PlaybookDirectory extends PlaybookCatalog {
  readonly dir: string;
  files(): PlaybookFile[];
  /** Finds by id, or by file name/path relative to the folder. */
  find(idOrFile: string): PlaybookFile | undefined;
}

export function isPlaybookFile(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !/\.test\.ya?ml$/i.test(name);
}

export function loadPlaybookDirectory(dir: string, actions: ActionCatalog): PlaybookDirectory {
  const root = resolve(dir);
  const names = existsSync(root) && statSync(root).isDirectory() ? readdirSync(root).filter(isPlaybookFile).sort() : [];
  // Two passes: ids first, then full validation with the others as the catalog for `call`.
  const firstPass = names.map((name) => ({ file: join(root, name), ...loadPlaybookFile(join(root, name), { actions }) }));
  const byId = new Map<string, Playbook>();
  for (const entry of firstPass) if (entry.playbook) byId.set(entry.playbook.id, entry.playbook);
  const catalog: PlaybookCatalog = { get: (id) => byId.get(id) };
  const files: PlaybookFile[] = firstPass.map((entry) =>
    entry.playbook ? { file: entry.file, ...loadPlaybookFile(entry.file, { actions, playbooks: catalog }) } : entry,
  );
  byId.clear();
  for (const entry of files) if (entry.playbook) byId.set(entry.playbook.id, entry.playbook);
  return {
    dir: root,
    get: (id) => byId.get(id),
    files: () => files,
    find(idOrFile) {
      const path = resolve(idOrFile);
      return files.find((f) => f.playbook?.id === idOrFile || f.file === path || f.file === join(root, idOrFile));
    },
  };
}
