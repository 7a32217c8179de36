import type { Detection, HuntDefinition } from '../analyzers/index.ts';
import { RiposteError } from '../core/index.ts';

/**
 * What a hunt must `reg query` through Falcon Real Time Response. RTR has no query language: it reads one
 * key at a time (`reg query KEY`, not recursive), so the hunt's TargetObject values are turned into the keys
 * to read — a machine key once per host, a user key (HKCU\, HKU\*\, or a path without a hive) in each loaded
 * user hive (`reg query HKU` lists them) — and what comes back is matched with the hunt's own Sigma rule,
 * locally. A wildcard inside the key path (not in the value name) cannot be read that way and is refused.
 */
export interface RtrKey {
  /** `machine`: HKLM\path; `user`: HKU\<each SID>\path. */
  scope: 'machine' | 'user';
  path: string;
}

function targetObjectValues(detection: Detection, out: string[]): void {
  if (detection.kind === 'any') {
    for (const d of detection.detections) targetObjectValues(d, out);
    return;
  }
  if (detection.kind !== 'map') return;
  for (const item of detection.items) {
    if (item.field !== 'TargetObject' || item.negated) continue;
    for (const value of item.values)
      if (value.kind === 'string') out.push(value.value.parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'any' ? '*' : '?')).join(''));
  }
}

const HIVES: Array<{ scope: 'machine' | 'user'; pattern: RegExp }> = [
  { scope: 'machine', pattern: /^(?:HKLM|HKEY_LOCAL_MACHINE)\\(.*)$/i },
  { scope: 'user', pattern: /^(?:HKCU|HKEY_CURRENT_USER)\\(.*)$/i },
  { scope: 'user', pattern: /^(?:HKU|HKEY_USERS)\\[^\\]+\\(.*)$/i },
];

export function rtrRegistryKeys(definition: HuntDefinition): RtrKey[] {
  const values: string[] = [];
  for (const detection of definition.rule.detections.values()) targetObjectValues(detection, values);
  const keys = new Map<string, RtrKey>();
  const add = (scope: RtrKey['scope'], path: string) => {
    const clean = path.replace(/\\+$/, '');
    if (clean !== '') keys.set(`${scope}:${clean.toLowerCase()}`, { scope, path: clean });
  };
  for (const raw of values) {
    const text = raw.replace(/^\*+/, '');
    // The key is everything before the last backslash; the last segment is the value name (or empty).
    const keyPart = text.slice(0, text.lastIndexOf('\\') + 1);
    const hive = HIVES.map((h) => ({ scope: h.scope, m: h.pattern.exec(keyPart) })).find((h) => h.m !== null);
    const [scope, path] = hive ? [hive.scope, hive.m?.[1] as string] : keyPart.startsWith('\\') ? (['both', keyPart.slice(1)] as const) : [undefined, ''];
    if (scope === undefined) continue;
    if (/[*?]/.test(path))
      throw new RiposteError('hunt.unsupported', `RTR reads one registry key at a time; ${JSON.stringify(raw)} has a wildcard inside the key path`, {
        status: 422,
      });
    if (scope !== 'user') add('machine', path);
    if (scope !== 'machine') add('user', path);
  }
  if (keys.size === 0)
    throw new RiposteError('hunt.unsupported', 'the hunt names no registry key (TargetObject) that RTR `reg query` could read', { status: 422 });
  return [...keys.values()];
}

/** A registry value as Sysmon reports it, so the hunt's Sigma rule matches what `reg query` printed. */
export function registryEvent(key: string, value: { name: string; type: string; data: string }): Record<string, unknown> {
  const shortKey = key.replace(/^HKEY_LOCAL_MACHINE\\/i, 'HKLM\\').replace(/^HKEY_USERS\\/i, 'HKU\\');
  return {
    EventID: 13,
    EventType: 'SetValue',
    TargetObject: `${shortKey}\\${value.name}`,
    Details: value.type === 'REG_DWORD' ? `DWORD (0x${Number(value.data).toString(16).padStart(8, '0')})` : value.data,
  };
}
