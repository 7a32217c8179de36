import { combineItem, conversionUnsupported, joiner, type QueryDialect, regexPrefix, wildcardRegex } from './query-dialect.ts';
import type { DetectionItem, SigmaRule, SigmaValue } from './rule-model.ts';
import { plainText, type SigmaString } from './sigma-string.ts';

/**
 * Splunk SPL over Sysmon data as the Splunk Add-on for Sysmon indexes it (source
 * XmlWinEventLog:Microsoft-Windows-Sysmon/Operational, EventCode, Sysmon field names). Search terms are
 * case-insensitive with `*` wildcards; `cased` values use CASE(). What the search language cannot say —
 * regular expressions, the single-character wildcard `?`, a literal `*` — switches the whole condition to
 * an eval expression after `| where`, using match() with (?i) for case-insensitive values.
 */

const SYSMON_SOURCE = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"';
const CATEGORY_FILTERS: Record<string, string> = {
  process_creation: 'EventCode=1',
  network_connection: 'EventCode=3',
  image_load: 'EventCode=7',
  file_event: 'EventCode=11',
  registry_add: 'EventCode=12 EventType="CreateKey"',
  registry_delete: 'EventCode=12 EventType IN ("DeleteKey", "DeleteValue")',
  registry_set: 'EventCode=13',
  registry_rename: 'EventCode=14',
  registry_event: 'EventCode IN (12, 13, 14)',
};

/** A double-quoted SPL string: backslashes and quotes escaped. */
export function splString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function needsEval(value: SigmaValue): boolean {
  if (value.kind === 'regex') return true;
  if (value.kind !== 'string') return false;
  return value.value.parts.some((p) => p.kind === 'one' || (p.kind === 'text' && p.text.includes('*')));
}

function anyValue(rule: SigmaRule, test: (value: SigmaValue) => boolean): boolean {
  const items: DetectionItem[] = [];
  for (const d of rule.detections.values()) {
    const stack = [d];
    while (stack.length > 0) {
      const x = stack.pop();
      if (!x) continue;
      if (x.kind === 'map') items.push(...x.items);
      else if (x.kind === 'keywords') items.push(x.item);
      else stack.push(...x.detections);
    }
  }
  return items.some((i) => i.values.some(test));
}

function searchPattern(value: SigmaString): string {
  return value.parts.map((p) => (p.kind === 'any' ? '*' : p.kind === 'text' ? p.text : '?')).join('');
}

function fieldName(field: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(field) ? field : `'${field.replace(/'/g, "\\'")}'`;
}

export function splunkDialect(rule: SigmaRule): QueryDialect {
  const category = rule.logsource.category ?? '';
  const evalMode = anyValue(rule, needsEval);
  const and = joiner('AND');
  const or = joiner('OR');
  const not = (part: string) => `NOT ${part.startsWith('(') ? part : `(${part})`}`;

  const searchTest = (field: string | null, value: SigmaValue): string => {
    switch (value.kind) {
      case 'string': {
        const pattern = splString(searchPattern(value.value));
        if (field === null) return value.cased ? `CASE(${pattern})` : pattern;
        return value.cased ? `${fieldName(field)}=CASE(${pattern})` : `${fieldName(field)}=${pattern}`;
      }
      case 'cidr':
        return `${fieldName(field ?? '_raw')}=${splString(value.text)}`;
      case 'number':
        return field === null ? splString(value.text) : `${fieldName(field)}=${value.text}`;
      case 'bool':
        return field === null ? splString(String(value.value)) : `${fieldName(field)}=${splString(String(value.value))}`;
      case 'null':
        return `NOT ${fieldName(field as string)}=*`;
      case 'exists':
        return value.value ? `${fieldName(field as string)}=*` : `NOT ${fieldName(field as string)}=*`;
      case 'compare': {
        const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[value.op];
        return `${fieldName(field as string)}${op}${value.value}`;
      }
      case 'regex':
        throw conversionUnsupported('splunk', 'regular expressions in search mode');
    }
  };

  const evalField = (field: string | null) => (field === null ? '_raw' : /^[A-Za-z_][A-Za-z0-9_]*$/.test(field) ? field : `'${field}'`);
  const evalTest = (field: string | null, value: SigmaValue): string => {
    const f = evalField(field);
    switch (value.kind) {
      case 'string': {
        if (field === null) {
          const plain = plainText(value.value);
          if (plain !== undefined && !value.cased) return `like(lower(_raw), ${splString(`%${plain.toLowerCase().replace(/[%_]/g, (c) => `\\${c}`)}%`)})`;
        }
        const source = field === null ? wildcardRegex(value.value).slice(1, -1) : wildcardRegex(value.value);
        return `match(${f}, ${splString(`${value.cased ? '(?s)' : '(?is)'}${source}`)})`;
      }
      case 'regex':
        return `match(${f}, ${splString(regexPrefix(value.flags) + value.source)})`;
      case 'cidr':
        return `cidrmatch(${splString(value.text)}, ${f})`;
      case 'number':
        return `${f}=${value.text}`;
      case 'bool':
        return `lower(${f})=${splString(String(value.value))}`;
      case 'null':
        return `isnull(${f})`;
      case 'exists':
        return value.value ? `isnotnull(${f})` : `isnull(${f})`;
      case 'compare': {
        const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[value.op];
        return `tonumber(${f})${op}${value.value}`;
      }
    }
  };

  return {
    target: 'splunk',
    and,
    or,
    not,
    item(item) {
      if (!evalMode && item.field !== null && item.linking === 'or' && item.values.length > 1) {
        const simple = item.values.every((v) => v.kind === 'string' && !v.cased);
        if (simple) {
          const list = `${fieldName(item.field)} IN (${item.values.map((v) => splString(searchPattern((v as { value: SigmaString }).value))).join(', ')})`;
          return item.negated ? not(list) : list;
        }
      }
      const test = evalMode ? evalTest : searchTest;
      return combineItem(
        item,
        { and, or, not },
        item.values.map((v) => test(item.field, v)),
      );
    },
    query(expression) {
      const prefix = rule.logsource.product === 'windows' && CATEGORY_FILTERS[category] ? `${SYSMON_SOURCE} ${CATEGORY_FILTERS[category]}` : '';
      if (evalMode) return `${prefix ? `${prefix} ` : ''}| where ${expression}`.replace(/^\| where/, 'search * | where');
      return prefix ? `${prefix} ${expression}` : expression;
    },
  };
}
