import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import { convertSigmaRule } from './query-conversion.ts';
import { parseSigmaRule } from './rule-parser.ts';

/**
 * Conversion to Defender KQL, osquery SQL and Splunk SPL: the queries a hunter would write by hand, field
 * names mapped per backend, and a `sigma.conversion_unsupported` error naming what a backend cannot say.
 */

const RUN_KEY = parseSigmaRule(`title: Run key value pointing to a user-writable folder
logsource:
    category: registry_set
    product: windows
detection:
    selection_key:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains:
            - '\\AppData\\Roaming\\'
            - '%TEMP%'
    filter:
        Details|endswith: '\\OneDrive.exe" /background'
    condition: all of selection_* and not filter
tags:
    - attack.t1547.001
`);

const EXACT_VALUE = parseSigmaRule(`title: Known implant Run value
logsource:
    category: registry_set
    product: windows
detection:
    selection:
        TargetObject: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate'
        Details|startswith: 'C:\\Users\\'
    condition: selection
`);

const PROCESS = parseSigmaRule(`title: Encoded PowerShell from Office
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\powershell.exe'
        ParentImage|endswith:
            - '\\winword.exe'
            - '\\excel.exe'
    payload:
        CommandLine|re|i: '-e(nc|ncodedcommand) [a-z0-9+/=]{40,}'
    condition: selection and payload
`);

function unsupported(fn: () => unknown, construct: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RiposteError);
    assert.equal(error.code, 'sigma.conversion_unsupported');
    assert.match(error.message, construct);
    return true;
  });
}

describe('Microsoft Defender Advanced Hunting (KQL)', () => {
  test('registry rules query DeviceRegistryEvents with TargetObject built from RegistryKey and RegistryValueName', () => {
    assert.equal(
      convertSigmaRule(RUN_KEY, 'kql'),
      [
        'DeviceRegistryEvents',
        '| where ActionType == "RegistryValueSet"',
        '| extend RegistryPath = iff(isempty(RegistryValueName), RegistryKey, strcat(RegistryKey, @"\\", RegistryValueName))',
        '| where ((RegistryPath contains @"\\CurrentVersion\\Run\\" and (RegistryValueData contains @"\\AppData\\Roaming\\" or RegistryValueData contains @"%TEMP%")) and not(RegistryValueData endswith @"\\OneDrive.exe"" /background"))',
      ].join('\n'),
    );
  });

  test('an exact value path splits into RegistryKey and RegistryValueName, hive spelled as Defender does', () => {
    const kql = convertSigmaRule(EXACT_VALUE, 'kql');
    assert.match(kql, /RegistryKey =~ @"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run" and RegistryValueName =~ @"OneDriveUpdate"/);
    assert.match(kql, /RegistryValueData startswith @"C:\\Users\\"/);
    assert.doesNotMatch(kql, /extend/, 'no computed column when the real ones suffice');
  });

  test('process rules query DeviceProcessEvents with mapped columns, lists as in~/or, regex with inline flags', () => {
    assert.equal(
      convertSigmaRule(PROCESS, 'kql'),
      'DeviceProcessEvents\n| where ((FolderPath endswith @"\\powershell.exe" and (InitiatingProcessFolderPath endswith @"\\winword.exe" or InitiatingProcessFolderPath endswith @"\\excel.exe")) and ProcessCommandLine matches regex @"(?i)-e(nc|ncodedcommand) [a-z0-9+/=]{40,}")',
    );
    const plainList = parseSigmaRule(
      "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n    s:\n        Image:\n            - 'C:\\a.exe'\n            - 'C:\\b.exe'\n        User|cased: 'SYSTEM'\n        FileSize|gte: 10\n        ProcessCommandLine: '*a?b*'\n    condition: s\n",
    );
    assert.equal(
      convertSigmaRule(plainList, 'kql').split('\n')[1],
      '| where (FolderPath in~ (@"C:\\a.exe", @"C:\\b.exe") and AccountName == @"SYSTEM" and todouble(FileSize) >= 10 and ProcessCommandLine matches regex @"(?is)^.*a.b.*$")',
    );
  });

  test('unmapped fields, unsupported logsources and keywords are refused by name', () => {
    unsupported(
      () =>
        convertSigmaRule(
          parseSigmaRule("title: t\nlogsource: {category: process_creation}\ndetection:\n    s:\n        CurrentDirectory: 'x'\n    condition: s\n"),
          'kql',
        ),
      /field 'CurrentDirectory' in DeviceProcessEvents/,
    );
    unsupported(
      () => convertSigmaRule(parseSigmaRule("title: t\nlogsource: {category: dns_query}\ndetection:\n    s:\n        A: 'x'\n    condition: s\n"), 'kql'),
      /logsource category 'dns_query'/,
    );
    unsupported(
      () => convertSigmaRule(parseSigmaRule("title: t\nlogsource: {category: registry_set}\ndetection:\n    k:\n        - 'evil'\n    condition: k\n"), 'kql'),
      /keyword searches/,
    );
  });
});

describe('osquery (registry table)', () => {
  test('TargetObject → path, Details → data, LIKE for case-insensitive values with escaped % and _', () => {
    assert.equal(
      convertSigmaRule(RUN_KEY, 'osquery'),
      "SELECT key, name, path, type, data, mtime FROM registry WHERE ((path LIKE '%\\CurrentVersion\\Run\\%' AND (data LIKE '%\\AppData\\Roaming\\%' OR data LIKE '%^%TEMP^%%' ESCAPE '^')) AND NOT (data LIKE '%\\OneDrive.exe\" /background'));",
    );
    assert.match(
      convertSigmaRule(EXACT_VALUE, 'osquery'),
      /path LIKE 'HKEY\^_LOCAL\^_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate' ESCAPE '\^'/,
    );
  });

  test('HKU and HKCU become HKEY_USERS (every user hive for HKCU); cased values use GLOB', () => {
    const rule = parseSigmaRule(
      "title: t\nlogsource: {category: registry_event, product: windows}\ndetection:\n    s:\n        TargetObject|startswith: 'HKCU\\Software\\Classes\\ms-settings\\'\n        Details|cased: 'Evil*[x]'\n    condition: s\n",
    );
    assert.equal(
      convertSigmaRule(rule, 'osquery'),
      "SELECT key, name, path, type, data, mtime FROM registry WHERE (path LIKE 'HKEY^_USERS\\%\\Software\\Classes\\ms-settings\\%' ESCAPE '^' AND data GLOB 'Evil*[[]x]');",
    );
  });

  test('regular expressions, process logsources, deleted values and other fields are refused by name', () => {
    unsupported(
      () =>
        convertSigmaRule(
          parseSigmaRule("title: t\nlogsource: {category: registry_set}\ndetection:\n    s:\n        Details|re: '^C:.*'\n    condition: s\n"),
          'osquery',
        ),
      /osquery \(registry table\) cannot express regular expressions \(re\)/,
    );
    unsupported(() => convertSigmaRule(PROCESS, 'osquery'), /logsource category 'process_creation'/);
    unsupported(
      () =>
        convertSigmaRule(parseSigmaRule("title: t\nlogsource: {category: registry_delete}\ndetection:\n    s:\n        A: 'x'\n    condition: s\n"), 'osquery'),
      /registry_delete/,
    );
    unsupported(
      () =>
        convertSigmaRule(
          parseSigmaRule("title: t\nlogsource: {category: registry_set}\ndetection:\n    s:\n        Image: 'x'\n    condition: s\n"),
          'osquery',
        ),
      /field 'Image'/,
    );
  });
});

describe('Splunk SPL', () => {
  test('Sysmon source and EventCode from the logsource; values quoted with backslashes escaped; lists as IN', () => {
    assert.equal(
      convertSigmaRule(RUN_KEY, 'splunk'),
      'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=13 ((TargetObject="*\\\\CurrentVersion\\\\Run\\\\*" AND Details IN ("*\\\\AppData\\\\Roaming\\\\*", "*%TEMP%*")) AND NOT (Details="*\\\\OneDrive.exe\\" /background"))',
    );
  });

  test('regular expressions switch the condition to | where with match()', () => {
    const spl = convertSigmaRule(PROCESS, 'splunk');
    assert.ok(spl.startsWith('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 | where '));
    assert.match(spl, /match\(Image, "\(\?is\)\^\.\*\\\\\\\\powershell\\\\\.exe\$"\)/);
    assert.match(spl, /match\(CommandLine, "\(\?i\)-e\(nc\|ncodedcommand\) \[a-z0-9\+\/=\]\{40,\}"\)/);
  });

  test('keywords, null, exists, cidr and comparisons', () => {
    const rule = parseSigmaRule(
      "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    k:\n        - 'mimikatz'\n    s:\n        A: null\n        B|exists: true\n        C|cidr: '10.0.0.0/8'\n        D|lt: 5\n    condition: k or s\n",
    );
    assert.equal(convertSigmaRule(rule, 'splunk'), '("mimikatz" OR (NOT A=* AND B=* AND C="10.0.0.0/8" AND D<5))');
  });
});
