import { createHash } from 'node:crypto';
import { canonicalJson, type ExtractedObservable, invalidInput, ObservableSet } from '../../core/index.ts';

/** Reads a field that vendors send either nested ({kibana:{alert:{…}}}) or flattened ("kibana.alert.…"). */
export function field(document: unknown, path: string): unknown {
  if (document === null || typeof document !== 'object') return undefined;
  const record = document as Record<string, unknown>;
  if (path in record) return record[path];
  const parts = path.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const head = parts.slice(0, i).join('.');
    if (head in record) {
      const found = field(record[head], parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value) && value.length > 0) return text(value[0]);
  return undefined;
}

export function firstText(document: unknown, ...paths: string[]): string | undefined {
  for (const path of paths) {
    const found = text(field(document, path));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** ISO 8601, epoch seconds (Splunk's _time, possibly fractional and quoted) or epoch milliseconds. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return parseTime(Number(trimmed));
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

const TECHNIQUE = /\bT\d{4}(?:\.\d{3})?\b/g;

/** ATT&CK technique ids mentioned anywhere in a value (rule threat mappings, annotations, labels). */
export function techniquesIn(...values: unknown[]): string[] {
  const found = new Set<string>();
  for (const value of values) {
    if (value === undefined || value === null) continue;
    const serialised = typeof value === 'string' ? value : JSON.stringify(value);
    for (const match of serialised.matchAll(TECHNIQUE)) found.add(match[0]);
  }
  return [...found].sort();
}

/** When the vendor gives no id, the event itself is its identity: the same bytes again are a repeat. */
export function contentKey(raw: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(raw)).digest('hex').slice(0, 40)}`;
}

export function requireObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidInput(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

export function merge(...lists: ExtractedObservable[][]): ExtractedObservable[] {
  const set = new ObservableSet();
  for (const list of lists) for (const item of list) set.add(item);
  return set.list();
}

export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  if (!Array.isArray(value)) return [];
  return value.flatMap((v) => (typeof v === 'string' && v.trim() ? [v.trim()] : []));
}

export const limit = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);
