import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

/**
 * YAML documents whose validation issues point at line and column: playbooks, policies and their test
 * files all report problems the way compilers do, and share this one mapping from a path to a position.
 */
export interface PositionedIssue {
  code: string;
  path: Array<string | number>;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
}

/** Alias expansions allowed per document (yaml's default scales with document size; ours is fixed). */
export const MAX_ALIAS_COUNT = 100;

export type YamlParse =
  | { ok: true; doc: Document; value: unknown; locate: (issues: PositionedIssue[], atKey?: (issue: PositionedIssue) => boolean) => void }
  | { ok: false; issues: PositionedIssue[] };

/**
 * Parses YAML keeping positions. Syntax errors come back as issues with `code` (one per error);
 * otherwise `value` is the plain data and `locate` fills in line/column for issues found by validating it.
 * With `atKey(issue)` true, an issue's last path segment points at the key rather than its value.
 */
export function parseYamlWithPositions(text: string, syntaxErrorCode: string): YamlParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return {
          code: syntaxErrorCode,
          path: [],
          message: `invalid YAML: ${error.message.split('\n')[0]}`,
          hint: error.code === 'DUPLICATE_KEY' ? 'each key may appear once per mapping' : 'check indentation and quoting near here',
          line: pos.line,
          column: pos.col,
        };
      }),
    };
  }
  // Converted here, once, so an alias bomb (or any conversion failure) is an issue like a syntax error
  // instead of an exception escaping every caller.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    if (isCyclic(value)) throw new Error('an alias refers to a node that contains it (a cycle)');
  } catch (error) {
    return {
      ok: false,
      issues: [
        {
          code: syntaxErrorCode,
          path: [],
          message: `invalid YAML: ${(error as Error).message}`,
          hint: `aliases (*name) may expand at most ${MAX_ALIAS_COUNT} times in one document`,
          line: 1,
          column: 1,
        },
      ],
    };
  }
  const root = doc.contents as YamlNode | null;
  return {
    ok: true,
    doc,
    value,
    locate(issues, atKey = () => false) {
      for (const issue of issues) {
        const offset = offsetOf(root, issue.path, atKey(issue));
        if (offset === undefined) continue;
        const pos = lineCounter.linePos(offset);
        issue.line = pos.line;
        issue.column = pos.col;
      }
    },
  };
}

/** A self-referencing alias (`&a [*a]`) converts to a cyclic value that would send validators into endless recursion. */
function isCyclic(value: unknown, ancestors: Set<unknown> = new Set()): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children = value instanceof Map ? [...value.values()] : Array.isArray(value) ? value : Object.values(value);
  const cyclic = children.some((child) => isCyclic(child, ancestors));
  ancestors.delete(value);
  return cyclic;
}

type Ranged = { range?: [number, number, number] } | null | undefined;

/** Start offset of the node at `path` (of its key, with `atKey`), or of its nearest existing ancestor. */
function offsetOf(root: YamlNode | null, path: Array<string | number>, atKey: boolean): number | undefined {
  let node: unknown = root;
  let offset = (root as Ranged)?.range?.[0];
  for (const [index, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) break;
      offset = (pair.key as Ranged)?.range?.[0] ?? offset;
      node = pair.value;
      const valueOffset = (node as Ranged)?.range?.[0];
      const last = index === path.length - 1;
      if (valueOffset !== undefined && !(last && atKey)) offset = valueOffset;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      offset = (node as Ranged)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}
