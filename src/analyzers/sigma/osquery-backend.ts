import { combineItem, conversionUnsupported, describeValue, type HiveNames, joiner, type QueryDialect, translateHive } from './query-dialect.ts';
import type { SigmaRule, SigmaValue } from './rule-model.ts';
import { plainText, type SigmaString } from './sigma-string.ts';

/**
 * osquery SQL over the `registry` table (columns key, path, name, type, data, mtime): a hunt looks at the
 * registry as it is now, so only registry logsources convert, and only fields the table holds —
 * TargetObject → path (key\value name), Details → data, and the native columns. Case-insensitive values
 * use SQLite's LIKE (ASCII case-insensitive; `*`→`%`, `?`→`_`), `cased` values use GLOB. Sysmon hive
 * abbreviations become osquery's (HKLM\ → HKEY_LOCAL_MACHINE\, HKU\ → HKEY_USERS\, HKCU\ → every user's hive).
 */

const COLUMNS = ['key', 'path', 'name', 'type', 'data', 'mtime'];
const FIELD_MAPPINGS: Record<string, string> = { TargetObject: 'path', Details: 'data' };
const HIVES: HiveNames = {
  HKLM: [{ kind: 'text', text: 'HKEY_LOCAL_MACHINE\\' }],
  HKU: [{ kind: 'text', text: 'HKEY_USERS\\' }],
  HKCU: [{ kind: 'text', text: 'HKEY_USERS\\' }, { kind: 'any' }, { kind: 'text', text: '\\' }],
  HKCR: [{ kind: 'text', text: 'HKEY_CLASSES_ROOT\\' }],
};
const CATEGORIES = ['registry_set', 'registry_add', 'registry_event'];

export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function likePattern(value: SigmaString): { pattern: string; escaped: boolean } {
  let escaped = false;
  const pattern = value.parts
    .map((p) => {
      if (p.kind === 'any') return '%';
      if (p.kind === 'one') return '_';
      return p.text.replace(/[%_^]/g, (c) => {
        escaped = true;
        return `^${c}`;
      });
    })
    .join('');
  return { pattern, escaped };
}

function globPattern(value: SigmaString): string {
  return value.parts.map((p) => (p.kind === 'any' ? '*' : p.kind === 'one' ? '?' : p.text.replace(/[*?[]/g, (c) => `[${c}]`))).join('');
}

export function osqueryDialect(rule: SigmaRule): QueryDialect {
  const category = rule.logsource.category ?? '';
  if (category === 'registry_delete')
    throw conversionUnsupported('osquery', 'logsource category registry_delete (the registry table shows what exists, not what was deleted)');
  if (!CATEGORIES.includes(category))
    throw conversionUnsupported('osquery', `logsource category '${category || '(none)'}' (supported: ${CATEGORIES.join(', ')})`);
  const and = joiner('AND');
  const or = joiner('OR');
  const not = (part: string) => `NOT ${part.startsWith('(') ? part : `(${part})`}`;

  const column = (field: string): string => {
    const mapped = FIELD_MAPPINGS[field];
    if (mapped) return mapped;
    if (COLUMNS.includes(field)) return field;
    throw conversionUnsupported('osquery', `field '${field}' (the registry table holds ${COLUMNS.join(', ')}; TargetObject and Details map to path and data)`);
  };

  const valueTest = (field: string | null, value: SigmaValue): string => {
    if (field === null) throw conversionUnsupported('osquery', 'keyword searches (values not bound to a field)');
    if (field === 'EventType') {
      // A state query sees set values and existing keys; what the event type asked for maps onto row types.
      const plain = value.kind === 'string' ? plainText(value.value)?.toLowerCase() : undefined;
      if (plain === 'setvalue') return "type != 'subkey'";
      if (plain === 'createkey') return "type = 'subkey'";
      throw conversionUnsupported(
        'osquery',
        `EventType ${value.kind === 'string' ? JSON.stringify(plainText(value.value) ?? '') : 'values'} (only SetValue and CreateKey exist in a registry snapshot)`,
      );
    }
    const col = column(field);
    switch (value.kind) {
      case 'string': {
        const v = field === 'TargetObject' || col === 'path' || col === 'key' ? translateHive(value.value, HIVES) : value.value;
        if (value.cased) return `${col} GLOB ${sqlString(globPattern(v))}`;
        const { pattern, escaped } = likePattern(v);
        return `${col} LIKE ${sqlString(pattern)}${escaped ? " ESCAPE '^'" : ''}`;
      }
      case 'number':
        return `${col} = ${sqlString(value.text)}`;
      case 'null':
        return `${col} IS NULL`;
      case 'exists':
        return value.value ? `${col} IS NOT NULL` : `${col} IS NULL`;
      case 'compare': {
        const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[value.op];
        return `CAST(${col} AS REAL) ${op} ${value.value}`;
      }
      case 'regex':
      case 'cidr':
      case 'bool':
        throw conversionUnsupported('osquery', describeValue(value));
    }
  };

  return {
    target: 'osquery',
    and,
    or,
    not,
    item: (item) =>
      combineItem(
        item,
        { and, or, not },
        item.values.map((v) => valueTest(item.field, v)),
      ),
    query: (expression) => `SELECT key, name, path, type, data, mtime FROM registry WHERE ${expression};`,
  };
}
