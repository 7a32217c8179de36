import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseYamlWithPositions, RiposteError } from '../core/index.ts';
import type { ActionCatalog } from './actions.ts';
import { checkTemplatesDeep, hasTemplateSyntax } from './expressions/index.ts';
import { Playbook, RAW_KIND_SCHEMAS, RAW_PLAYBOOK, STEP_KINDS, type StepKind, stepKindOf } from './playbook-schema.ts';

/**
 * Loading and validating playbooks. Every problem is reported at once, each with its place in the file
 * (line and column, from the YAML document's node ranges) and a hint — a playbook author fixes all of
 * them in one pass instead of one per run. Checks go beyond the schema: unknown actions, literal `with:`
 * values of the wrong type, duplicate step ids, `goto` to missing steps, `call` cycles, template syntax.
 */
export interface PlaybookIssue {
  code: string;
  path: Array<string | number>;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
}

/** Other playbooks, for `call` validation and execution. */
export interface PlaybookCatalog {
  get(id: string): Playbook | undefined;
}

export interface ValidationContext {
  actions?: ActionCatalog;
  playbooks?: PlaybookCatalog;
}

export interface LoadResult {
  playbook: Playbook | undefined;
  issues: PlaybookIssue[];
}

export function loadPlaybookFile(file: string, context: ValidationContext = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RiposteError('engine.playbook_unreadable', `cannot read playbook ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return parsePlaybookYaml(text, context);
}

export function parsePlaybookYaml(text: string, context: ValidationContext = {}): LoadResult {
  const parsed = parseYamlWithPositions(text, 'engine.invalid_yaml');
  if (!parsed.ok) return { playbook: undefined, issues: parsed.issues };
  const result = validatePlaybook(parsed.value, context);
  parsed.locate(result.issues, (issue) => issue.code === 'engine.unknown_field' || issue.code === 'engine.unknown_step_kind');
  result.issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return result;
}

interface StepUse {
  path: Array<string | number>;
  raw: Record<string, unknown>;
  kind: StepKind;
  laterSiblings: string[];
}

/** Validates an already-parsed document (YAML or JSON); issues carry paths but no positions. */
export function validatePlaybook(raw: unknown, context: ValidationContext = {}): LoadResult {
  const issues: PlaybookIssue[] = [];
  const top = RAW_PLAYBOOK.safeParse(raw);
  if (!top.success) issues.push(...zodIssues(top.error, [], RAW_PLAYBOOK));
  const steps: StepUse[] = [];
  const rawSteps = (raw as { steps?: unknown } | null)?.steps;
  if (Array.isArray(rawSteps)) collectSteps(rawSteps, ['steps'], steps, issues);

  // Step ids are global: templates say `steps.vt.output`, wherever vt sits.
  const seen = new Map<string, Array<string | number>>();
  for (const step of steps) {
    const id = step.raw.id;
    if (typeof id !== 'string') continue;
    if (seen.has(id)) {
      issues.push({
        code: 'engine.duplicate_step_id',
        path: [...step.path, 'id'],
        message: `step id "${id}" is used twice`,
        hint: `the first use is at ${seen.get(id)?.join('.')}; step ids must be unique in the whole playbook`,
      });
    } else {
      seen.set(id, step.path);
    }
  }

  for (const template of checkTemplatesDeep(raw)) {
    issues.push({
      code: 'engine.template_syntax',
      path: template.path,
      message: template.message,
      hint: 'check that each {{ has its }}, each {% if %} its {% endif %}, and filter names',
    });
  }

  for (const step of steps) {
    if (step.kind === 'action') checkAction(step, context.actions, issues);
    checkGoto(step, issues);
  }
  checkCalls(raw, steps, context.playbooks, issues);

  if (issues.length > 0) return { playbook: undefined, issues };
  const parsed = Playbook.safeParse(raw);
  if (!parsed.success) return { playbook: undefined, issues: zodIssues(parsed.error, [], Playbook) };
  return { playbook: parsed.data as Playbook, issues: [] };
}

function nestedLists(kind: StepKind, raw: Record<string, unknown>): Array<[Array<string | number>, unknown]> {
  switch (kind) {
    case 'parallel':
      return [[['parallel'], raw.parallel]];
    case 'foreach':
      return [[['foreach', 'do'], (raw.foreach as { do?: unknown } | undefined)?.do]];
    case 'then':
      return [
        [['then'], raw.then],
        [['else'], raw.else],
      ];
    case 'switch': {
      const cases = raw.cases && typeof raw.cases === 'object' ? Object.entries(raw.cases) : [];
      return [...cases.map(([name, list]) => [['cases', name], list] as [Array<string | number>, unknown]), [['default'], raw.default]];
    }
    default:
      return [];
  }
}

function collectSteps(list: unknown[], path: Array<string | number>, out: StepUse[], issues: PlaybookIssue[]): void {
  list.forEach((item, index) => {
    const here = [...path, index];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      issues.push({
        code: 'engine.invalid_step',
        path: here,
        message: 'a step must be a mapping with an id and one kind key',
        hint: `kinds: ${STEP_KINDS.join(', ')}`,
      });
      return;
    }
    const raw = item as Record<string, unknown>;
    const kinds = stepKindOf(raw);
    const name = typeof raw.id === 'string' ? `step "${raw.id}"` : `step ${here.join('.')}`;
    if (kinds.length === 0) {
      const unknown = Object.keys(raw).filter((key) => !['id', 'title', 'description', 'when', 'if', 'timeout', 'retry', 'on_error', 'with'].includes(key));
      const guess = unknown.map((key) => [key, closest(key, STEP_KINDS)] as const).find(([, match]) => match !== undefined);
      issues.push({
        code: 'engine.unknown_step_kind',
        path: unknown.length > 0 ? [...here, unknown[0] as string] : here,
        message: unknown.length > 0 ? `${name}: unknown step kind "${unknown[0]}"` : `${name} has no kind`,
        hint: guess ? `did you mean "${guess[1]}"?` : `a step needs exactly one of: ${STEP_KINDS.join(', ')}`,
      });
      return;
    }
    if (kinds.length > 1) {
      issues.push({
        code: 'engine.invalid_step',
        path: [...here, kinds[1] as string],
        message: `${name} has several kinds (${kinds.join(', ')})`,
        hint: 'put each in its own step',
      });
      return;
    }
    const kind = kinds[0] as StepKind;
    const schema = RAW_KIND_SCHEMAS[kind];
    const parsed = schema.safeParse(raw);
    if (!parsed.success) issues.push(...zodIssues(parsed.error, here, schema));
    const laterSiblings = list
      .slice(index + 1)
      .map((sibling) => (sibling as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string');
    out.push({ path: here, raw, kind, laterSiblings });
    for (const [suffix, nested] of nestedLists(kind, raw)) {
      if (nested === undefined) continue;
      if (!Array.isArray(nested) || nested.length === 0) {
        issues.push({ code: 'engine.invalid_step', path: [...here, ...suffix], message: `${name}: ${suffix.join('.')} must be a non-empty list of steps` });
        continue;
      }
      collectSteps(nested, [...here, ...suffix], out, issues);
    }
  });
}

function zodIssues(error: z.ZodError, prefix: Array<string | number>, schema: z.ZodType): PlaybookIssue[] {
  const out: PlaybookIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path as Array<string | number>);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        out.push({
          code: 'engine.unknown_field',
          path: [...path, key],
          message: `unknown field "${key}"${path.length ? ` in ${path.join('.')}` : ''}`,
          hint: guess ? `did you mean "${guess}"?` : known.length ? `allowed here: ${known.join(', ')}` : undefined,
        });
      }
      continue;
    }
    const where = path.length ? path.join('.') : 'playbook';
    let message = issue.message;
    let hint: string | undefined;
    if (issue.code === 'invalid_type') {
      const got = issue.input === undefined ? 'nothing' : Array.isArray(issue.input) ? 'a list' : typeof issue.input;
      message = issue.input === undefined ? 'is required' : `must be ${issue.expected}, got ${got}`;
    } else if (issue.code === 'invalid_union') {
      message = 'does not match any accepted form';
      hint = 'see docs/playbooks.md or schemas/playbook.schema.json for the accepted shapes';
    } else if (issue.code === 'invalid_value') {
      hint = `accepted: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    out.push({
      code: 'engine.invalid_field',
      path,
      message: `${where} ${message}`,
      hint: hint ?? 'see docs/playbooks.md (or schemas/playbook.schema.json) for what this field accepts',
    });
  }
  return out;
}

/** Keys an object schema accepts at a sub-path (best effort, for "did you mean"). */
function knownKeys(schema: z.ZodType, path: Array<string | number>): string[] {
  let node: unknown = schema;
  for (const key of path) {
    const shape = (node as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof key === 'string' && shape[key]) node = unwrap(shape[key]);
    else return [];
  }
  const shape = (unwrap(node) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let node = schema as { def?: { innerType?: unknown; type?: string } };
  while (node?.def?.innerType) node = node.def.innerType as typeof node;
  return node;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length] as number;
}

function checkAction(step: StepUse, actions: ActionCatalog | undefined, issues: PlaybookIssue[]): void {
  if (actions === undefined || typeof step.raw.action !== 'string') return;
  const id = step.raw.action;
  const definition = actions.get(id);
  if (definition === undefined) {
    const guess = closest(id, actions.ids());
    issues.push({
      code: 'engine.unknown_action',
      path: [...step.path, 'action'],
      message: `unknown action "${id}"`,
      hint: guess ? `did you mean "${guess}"?` : 'list the registered actions with `riposte playbook actions`',
    });
    return;
  }
  const withValue = step.raw.with ?? {};
  if (typeof withValue === 'string' && hasTemplateSyntax(withValue)) return;
  const parsed = definition.input.safeParse(withValue);
  if (parsed.success) return;
  for (const issue of parsed.error.issues) {
    // Only what is knowable before the run: a value built from a template may become anything.
    if (reachesTemplate(withValue, issue.path as Array<string | number>)) continue;
    const field = ['with', ...(issue.path as Array<string | number>)];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    if (keys.length > 0) {
      for (const key of keys) {
        issues.push({ code: 'engine.invalid_action_input', path: [...step.path, ...field, key], message: `action ${id} does not accept "${key}"` });
      }
      continue;
    }
    issues.push({
      code: 'engine.invalid_action_input',
      path: [...step.path, ...field],
      message: `${field.join('.')} for ${id} ${issue.code === 'invalid_type' && getPath(withValue, issue.path as Array<string | number>) === undefined ? 'is required' : issue.message.toLowerCase()}`,
    });
  }
}

function getPath(value: unknown, path: Array<string | number>): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function reachesTemplate(value: unknown, path: Array<string | number>): boolean {
  let node = value;
  for (const key of [undefined, ...path]) {
    if (key !== undefined) {
      if (node === null || typeof node !== 'object') return false;
      node = (node as Record<string | number, unknown>)[key];
    }
    if (typeof node === 'string' && hasTemplateSyntax(node)) return true;
  }
  return false;
}

function checkGoto(step: StepUse, issues: PlaybookIssue[]): void {
  const onError = step.raw.on_error as { goto?: unknown } | undefined;
  if (!onError || typeof onError !== 'object' || typeof onError.goto !== 'string') return;
  // goto stays within the step's own list and only jumps forward: no loops, and step keys stay unique.
  if (step.laterSiblings.includes(onError.goto)) return;
  issues.push({
    code: 'engine.unknown_goto',
    path: [...step.path, 'on_error', 'goto'],
    message: `on_error.goto "${onError.goto}" is not a later step in the same list`,
    hint:
      step.laterSiblings.length > 0
        ? `later steps here: ${step.laterSiblings.join(', ')}`
        : 'goto jumps forward to a step in the same list (e.g. a cleanup or notify step)',
  });
}

function checkCalls(raw: unknown, steps: StepUse[], playbooks: PlaybookCatalog | undefined, issues: PlaybookIssue[]): void {
  const selfId = (raw as { id?: unknown } | null)?.id;
  const calls = steps.filter((s) => s.kind === 'call');
  if (calls.length === 0) return;
  const callsOf = (id: string): string[] => {
    if (id === selfId) return calls.map((s) => (s.raw.call as { playbook?: string } | undefined)?.playbook).filter((p): p is string => typeof p === 'string');
    const playbook = playbooks?.get(id);
    return playbook ? playbookCalls(playbook.steps as unknown[]) : [];
  };
  for (const step of calls) {
    const target = (step.raw.call as { playbook?: unknown } | undefined)?.playbook;
    if (typeof target !== 'string') continue;
    if (target !== selfId && playbooks !== undefined && playbooks.get(target) === undefined) {
      issues.push({ code: 'engine.unknown_playbook', path: [...step.path, 'call', 'playbook'], message: `call to unknown playbook "${target}"` });
      continue;
    }
    const cycle = findCycle(String(selfId), target, callsOf);
    if (cycle) {
      issues.push({
        code: 'engine.call_cycle',
        path: [...step.path, 'call', 'playbook'],
        message: `call cycle: ${cycle.join(' → ')}`,
        hint: 'a playbook may not call itself, directly or through others',
      });
    }
  }
}

function findCycle(start: string, first: string, callsOf: (id: string) => string[]): string[] | undefined {
  const stack: Array<{ id: string; path: string[] }> = [{ id: first, path: [start, first] }];
  const visited = new Set<string>();
  while (stack.length > 0) {
    const { id, path } = stack.pop() as { id: string; path: string[] };
    if (id === start) return path;
    if (visited.has(id)) continue;
    visited.add(id);
    for (const next of callsOf(id)) stack.push({ id: next, path: [...path, next] });
  }
  return undefined;
}

function playbookCalls(steps: unknown[]): string[] {
  const out: string[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (item === null || typeof item !== 'object') continue;
      const raw = item as Record<string, unknown>;
      const call = raw.call as { playbook?: unknown } | undefined;
      if (call && typeof call.playbook === 'string') out.push(call.playbook);
      for (const kind of stepKindOf(raw)) for (const [, nested] of nestedLists(kind, raw)) walk(nested);
    }
  };
  walk(steps);
  return out;
}

/** `file:line:col: message (hint)` lines, the way compilers print them. */
export function formatIssues(file: string, issues: PlaybookIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column}`;
      return `${where}: ${issue.message} [${issue.code}]${issue.hint ? `\n    hint: ${issue.hint}` : ''}`;
    })
    .join('\n');
}
