import {
  combineItem,
  conversionUnsupported,
  describeValue,
  type HiveNames,
  joiner,
  type QueryDialect,
  regexPrefix,
  translateHive,
  wildcardRegex,
} from './query-dialect.ts';
import type { DetectionItem, SigmaRule, SigmaValue } from './rule-model.ts';
import { endsWithAny, plainText, type SigmaString, startsWithAny } from './sigma-string.ts';

/**
 * Microsoft Defender for Endpoint Advanced Hunting (KQL). The table follows the logsource (registry_* →
 * DeviceRegistryEvents, process_creation → DeviceProcessEvents); Sysmon field names map to Defender columns
 * (table below, after the pySigma Microsoft XDR pipeline); Defender's own column names pass through.
 * Sysmon's TargetObject (key path + value name) becomes the computed column RegistryPath built from
 * RegistryKey and RegistryValueName, with hive abbreviations spelled as Defender does (HKEY_LOCAL_MACHINE\…).
 * String operators are the case-insensitive ones (=~, contains, startswith, endswith) unless `cased`.
 */

const REGISTRY_COLUMNS = [
  'Timestamp',
  'DeviceId',
  'DeviceName',
  'ActionType',
  'RegistryKey',
  'RegistryValueType',
  'RegistryValueName',
  'RegistryValueData',
  'PreviousRegistryKey',
  'PreviousRegistryValueName',
  'PreviousRegistryValueData',
  'InitiatingProcessAccountDomain',
  'InitiatingProcessAccountName',
  'InitiatingProcessAccountSid',
  'InitiatingProcessSHA1',
  'InitiatingProcessSHA256',
  'InitiatingProcessMD5',
  'InitiatingProcessFileName',
  'InitiatingProcessId',
  'InitiatingProcessCommandLine',
  'InitiatingProcessCreationTime',
  'InitiatingProcessFolderPath',
  'InitiatingProcessParentId',
  'InitiatingProcessParentFileName',
  'InitiatingProcessIntegrityLevel',
  'InitiatingProcessTokenElevation',
  'ReportId',
];

const PROCESS_COLUMNS = [
  'Timestamp',
  'DeviceId',
  'DeviceName',
  'ActionType',
  'FileName',
  'FolderPath',
  'SHA1',
  'SHA256',
  'MD5',
  'FileSize',
  'ProcessVersionInfoCompanyName',
  'ProcessVersionInfoProductName',
  'ProcessVersionInfoProductVersion',
  'ProcessVersionInfoInternalFileName',
  'ProcessVersionInfoOriginalFileName',
  'ProcessVersionInfoFileDescription',
  'ProcessId',
  'ProcessCommandLine',
  'ProcessIntegrityLevel',
  'ProcessTokenElevation',
  'ProcessCreationTime',
  'AccountDomain',
  'AccountName',
  'AccountSid',
  'LogonId',
  'InitiatingProcessAccountDomain',
  'InitiatingProcessAccountName',
  'InitiatingProcessFileName',
  'InitiatingProcessFolderPath',
  'InitiatingProcessId',
  'InitiatingProcessCommandLine',
  'InitiatingProcessParentId',
  'InitiatingProcessParentFileName',
  'InitiatingProcessSHA1',
  'InitiatingProcessSHA256',
  'InitiatingProcessMD5',
  'ReportId',
];

/** Sysmon / Sigma taxonomy field → Defender column, per table. */
export const KQL_FIELD_MAPPINGS: Record<'DeviceRegistryEvents' | 'DeviceProcessEvents', Record<string, string>> = {
  DeviceRegistryEvents: {
    TargetObject: 'RegistryPath',
    Details: 'RegistryValueData',
    EventType: 'ActionType',
    Image: 'InitiatingProcessFolderPath',
    ProcessId: 'InitiatingProcessId',
    User: 'InitiatingProcessAccountName',
    ObjectName: 'RegistryKey',
  },
  DeviceProcessEvents: {
    Image: 'FolderPath',
    CommandLine: 'ProcessCommandLine',
    OriginalFileName: 'ProcessVersionInfoOriginalFileName',
    Description: 'ProcessVersionInfoFileDescription',
    Product: 'ProcessVersionInfoProductName',
    Company: 'ProcessVersionInfoCompanyName',
    FileVersion: 'ProcessVersionInfoProductVersion',
    ProcessId: 'ProcessId',
    User: 'AccountName',
    LogonId: 'LogonId',
    IntegrityLevel: 'ProcessIntegrityLevel',
    md5: 'MD5',
    sha1: 'SHA1',
    sha256: 'SHA256',
    ParentProcessId: 'InitiatingProcessId',
    ParentImage: 'InitiatingProcessFolderPath',
    ParentCommandLine: 'InitiatingProcessCommandLine',
    ParentUser: 'InitiatingProcessAccountName',
  },
};

/** Sysmon EventType values → Defender ActionType values. */
const ACTION_TYPES: Record<string, string> = {
  setvalue: 'RegistryValueSet',
  createkey: 'RegistryKeyCreated',
  deletekey: 'RegistryKeyDeleted',
  deletevalue: 'RegistryValueDeleted',
  renamekey: 'RegistryKeyRenamed',
};

const REGISTRY_CATEGORY_FILTERS: Record<string, string | undefined> = {
  registry_set: 'ActionType == "RegistryValueSet"',
  registry_add: 'ActionType == "RegistryKeyCreated"',
  registry_delete: 'ActionType in ("RegistryKeyDeleted", "RegistryValueDeleted")',
  registry_rename: 'ActionType == "RegistryKeyRenamed"',
  registry_event: undefined,
};

const HIVES: HiveNames = {
  HKLM: [{ kind: 'text', text: 'HKEY_LOCAL_MACHINE\\' }],
  // Defender writes user hives as HKEY_CURRENT_USER\<SID>\…, which Sysmon writes HKU\<SID>\….
  HKU: [{ kind: 'text', text: 'HKEY_CURRENT_USER\\' }],
  HKCU: [{ kind: 'text', text: 'HKEY_CURRENT_USER\\' }, { kind: 'any' }, { kind: 'text', text: '\\' }],
  HKCR: [{ kind: 'text', text: 'HKEY_CLASSES_ROOT\\' }],
};

const REGISTRY_PATH_COLUMN = 'RegistryPath = iff(isempty(RegistryValueName), RegistryKey, strcat(RegistryKey, @"\\", RegistryValueName))';

/** A KQL verbatim string: backslashes stay as written, quotes doubled. */
export function kqlString(text: string): string {
  return `@"${text.replace(/"/g, '""')}"`;
}

export function kqlDialect(rule: SigmaRule): QueryDialect {
  const category = rule.logsource.category ?? '';
  const product = rule.logsource.product;
  if (product !== undefined && product !== 'windows')
    throw conversionUnsupported('kql', `logsource product '${product}' (Defender Advanced Hunting tables here cover Windows)`);
  let table: 'DeviceRegistryEvents' | 'DeviceProcessEvents';
  if (category in REGISTRY_CATEGORY_FILTERS) table = 'DeviceRegistryEvents';
  else if (category === 'process_creation') table = 'DeviceProcessEvents';
  else
    throw conversionUnsupported(
      'kql',
      `logsource category '${category || '(none)'}' (supported: registry_set, registry_add, registry_delete, registry_event, process_creation)`,
    );
  const mapping = KQL_FIELD_MAPPINGS[table];
  // Set when a test needs the computed RegistryPath column (an exact value path uses the real columns).
  let registryPathUsed = false;
  const native = table === 'DeviceRegistryEvents' ? REGISTRY_COLUMNS : PROCESS_COLUMNS;
  const and = joiner('and');
  const or = joiner('or');
  const not = (part: string) => `not(${part.startsWith('(') && part.endsWith(')') ? part.slice(1, -1) : part})`;

  const column = (field: string): string => {
    const mapped = mapping[field];
    if (mapped) return mapped;
    if (native.includes(field)) return field;
    throw conversionUnsupported('kql', `field '${field}' in ${table} (no Defender column maps to it)`);
  };

  const stringTest = (field: string, col: string, value: SigmaString, cased: boolean): string => {
    let v = value;
    if (field === 'TargetObject') v = translateHive(v, HIVES);
    if (field === 'EventType' && table === 'DeviceRegistryEvents') {
      const plain = plainText(v);
      const action = plain === undefined ? undefined : ACTION_TYPES[plain.toLowerCase()];
      if (action) return `${col} == "${action}"`;
    }
    const cs = cased ? '_cs' : '';
    const plain = plainText(v);
    if (plain !== undefined) {
      // A value-set event's path splits exactly into key and value name: test the real columns.
      if (field === 'TargetObject' && category === 'registry_set' && plain.includes('\\')) {
        const cut = plain.lastIndexOf('\\');
        const op = cased ? '==' : '=~';
        return `(RegistryKey ${op} ${kqlString(plain.slice(0, cut))} and RegistryValueName ${op} ${kqlString(plain.slice(cut + 1))})`;
      }
      return `${col} ${cased ? '==' : '=~'} ${kqlString(plain)}`;
    }
    const parts = v.parts;
    if (parts.length === 1 && parts[0]?.kind === 'any') return `isnotnull(${col})`;
    const inner = { parts: parts.slice(startsWithAny(v) ? 1 : 0, endsWithAny(v) ? -1 : undefined) };
    const innerPlain = plainText(inner);
    if (innerPlain !== undefined) {
      if (startsWithAny(v) && endsWithAny(v)) return `${col} contains${cs} ${kqlString(innerPlain)}`;
      if (endsWithAny(v)) return `${col} startswith${cs} ${kqlString(innerPlain)}`;
      if (startsWithAny(v)) return `${col} endswith${cs} ${kqlString(innerPlain)}`;
    }
    return `${col} matches regex ${kqlString(`${cased ? '(?s)' : '(?is)'}${wildcardRegex(v)}`)}`;
  };

  const valueTest = (field: string | null, value: SigmaValue): string => {
    if (field === null) throw conversionUnsupported('kql', 'keyword searches (values not bound to a field)');
    const col = column(field);
    switch (value.kind) {
      case 'string':
        return stringTest(field, col, value.value, value.cased);
      case 'regex':
        return `${col} matches regex ${kqlString(regexPrefix(value.flags) + value.source)}`;
      case 'cidr':
        return `${value.network.family === 4 ? 'ipv4_is_in_range' : 'ipv6_is_in_range'}(${col}, "${value.text}")`;
      case 'number':
        return `tostring(${col}) == "${value.text}"`;
      case 'bool':
        return `tostring(${col}) =~ "${value.value}"`;
      case 'null':
        return `isempty(${col})`;
      case 'exists':
        return value.value ? `isnotempty(${col})` : `isempty(${col})`;
      case 'compare': {
        const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[value.op];
        return `todouble(${col}) ${op} ${value.value}`;
      }
    }
    throw conversionUnsupported('kql', describeValue(value));
  };

  const renderItem = (item: DetectionItem): string => {
    const values = item.values;
    // A list of plain case-insensitive equalities reads best as `in~`.
    if (item.field !== null && item.linking === 'or' && values.length > 1 && item.field !== 'TargetObject' && item.field !== 'EventType') {
      const plains = values.map((v) => (v.kind === 'string' && !v.cased ? plainText(v.value) : undefined));
      if (plains.every((p) => p !== undefined)) {
        const test = `${column(item.field)} in~ (${(plains as string[]).map(kqlString).join(', ')})`;
        return item.negated ? not(test) : test;
      }
    }
    return combineItem(
      item,
      { and, or, not },
      values.map((v) => valueTest(item.field, v)),
    );
  };

  return {
    target: 'kql',
    and,
    or,
    not,
    item(item) {
      const rendered = renderItem(item);
      if (/\bRegistryPath\b/.test(rendered)) registryPathUsed = true;
      return rendered;
    },
    query(expression) {
      const lines: string[] = [table];
      const filter = table === 'DeviceRegistryEvents' ? REGISTRY_CATEGORY_FILTERS[category] : undefined;
      if (filter) lines.push(`| where ${filter}`);
      if (registryPathUsed) lines.push(`| extend ${REGISTRY_PATH_COLUMN}`);
      lines.push(`| where ${expression}`);
      return lines.join('\n');
    },
  };
}
