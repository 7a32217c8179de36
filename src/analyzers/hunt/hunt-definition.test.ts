import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import { compileSigmaRule } from '../sigma/rule-evaluator.ts';
import { huntFromRegistryIoc, huntFromSigma, huntFromStixIndicator, huntQueries, registryValueEvent, resolveTechniques } from './hunt-definition.ts';

/**
 * One hunt, three ways in (Sigma, STIX indicator, plain IOC): each becomes a rule that matches the infected
 * registry value locally, converts to the three backends, and carries catalog-checked ATT&CK techniques.
 */

const RUN = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run';

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RiposteError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

const INDICATOR = {
  type: 'indicator',
  spec_version: '2.1',
  id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  created: '2026-11-01T00:00:00.000Z',
  modified: '2026-11-01T00:00:00.000Z',
  name: 'OneDrive-lookalike Run key persistence',
  indicator_types: ['malicious-activity'],
  pattern_type: 'stix',
  valid_from: '2026-11-01T00:00:00Z',
  pattern:
    "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run' AND windows-registry-key:values[*].name = 'OneDriveUpdate' AND windows-registry-key:values[*].data LIKE '%\\\\AppData\\\\Roaming\\\\%']",
  external_references: [{ source_name: 'mitre-attack', external_id: 'T1547.001', url: 'https://attack.mitre.org/techniques/T1547/001' }],
};

describe('hunt definitions', () => {
  test('from a plain IOC: exact key, value name and data; hive names normalised', () => {
    const hunt = huntFromRegistryIoc({ keyPath: `${RUN}\\`, valueName: 'OneDriveUpdate', data: 'C:\\Users\\Public\\odu.exe' }, { attack: ['t1547.001'] });
    assert.equal(hunt.source, 'ioc');
    assert.match(hunt.id, /^ioc--[0-9a-f]{16}$/);
    assert.deepEqual(hunt.attack, [{ id: 'T1547.001', name: 'Registry Run Keys / Startup Folder', tactics: ['persistence', 'privilege-escalation'] }]);
    const rule = compileSigmaRule(hunt.rule);
    assert.equal(rule.matches(registryValueEvent(RUN, 'onedriveupdate', 'c:\\users\\public\\ODU.EXE')), true);
    assert.equal(rule.matches(registryValueEvent(RUN, 'OneDriveUpdate', 'C:\\Program Files\\OneDrive.exe')), false);
    assert.equal(rule.matches(registryValueEvent(`${RUN}Once`, 'OneDriveUpdate', 'C:\\Users\\Public\\odu.exe')), false);
    const [kql, osquery, splunk] = huntQueries(hunt);
    assert.deepEqual(kql, {
      target: 'kql',
      query:
        'DeviceRegistryEvents\n| where ActionType == "RegistryValueSet"\n| where ((RegistryKey =~ @"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run" and RegistryValueName =~ @"OneDriveUpdate") and RegistryValueData =~ @"C:\\Users\\Public\\odu.exe")',
    });
    assert.deepEqual(osquery, {
      target: 'osquery',
      query:
        "SELECT key, name, path, type, data, mtime FROM registry WHERE (path LIKE 'HKEY^_LOCAL^_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate' ESCAPE '^' AND data LIKE 'C:\\Users\\Public\\odu.exe');",
    });
    assert.equal(
      (splunk as { query: string }).query,
      'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=13 (TargetObject="HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\OneDriveUpdate" AND Details="C:\\\\Users\\\\Public\\\\odu.exe")',
    );
  });

  test('from a key-only IOC: the key itself or any value beneath it; literal * stays literal', () => {
    const hunt = huntFromRegistryIoc({ keyPath: 'HKLM\\SOFTWARE\\Evil*Corp' });
    const rule = compileSigmaRule(hunt.rule);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\Evil*Corp' }), true);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\Evil*Corp\\cfg' }), true);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\EvilXCorp' }), false);
    assert.equal(hunt.rule.logsource.category, 'registry_event');
  });

  test('from a STIX indicator: HKCU means every user hive; LIKE becomes wildcards; ATT&CK from external_references', () => {
    const hunt = huntFromStixIndicator(INDICATOR);
    assert.equal(hunt.id, INDICATOR.id);
    assert.equal(hunt.title, INDICATOR.name);
    assert.deepEqual(
      hunt.attack.map((t) => t.id),
      ['T1547.001'],
    );
    const rule = compileSigmaRule(hunt.rule);
    const userRun = 'HKEY_USERS\\S-1-5-21-1111\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
    assert.equal(rule.matches(registryValueEvent(userRun, 'OneDriveUpdate', 'C:\\Users\\bob\\AppData\\Roaming\\odu.exe')), true);
    assert.equal(rule.matches(registryValueEvent(userRun, 'OneDriveUpdate', 'C:\\Program Files\\odu.exe')), false);
    assert.equal(rule.matches(registryValueEvent(RUN, 'OneDriveUpdate', 'C:\\Users\\bob\\AppData\\Roaming\\odu.exe')), false);
    const queries = huntQueries(hunt);
    assert.ok(queries.every((q) => 'query' in q));
    assert.match(
      (queries[1] as { query: string }).query,
      /path LIKE 'HKEY\^_USERS\\%\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate' ESCAPE '\^' AND data LIKE '%\\AppData\\Roaming\\%'/,
    );
  });

  test('STIX alternatives become OR-ed selections; MATCHES on data is a regex the osquery backend declines', () => {
    const hunt = huntFromStixIndicator(
      "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\A' OR windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\B'] OR [windows-registry-key:values[*].name = 'x' AND windows-registry-key:values[*].data MATCHES '^C:\\\\\\\\Temp']",
    );
    const rule = compileSigmaRule(hunt.rule);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\B\\v' }), true);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\C\\x', Details: 'C:\\Temp\\a.exe' }), true);
    assert.equal(rule.matches({ TargetObject: 'HKLM\\SOFTWARE\\C\\x', Details: 'D:\\Temp\\a.exe' }), false);
    const osquery = huntQueries(hunt).find((q) => q.target === 'osquery');
    assert.deepEqual(osquery, {
      target: 'osquery',
      error: 'osquery (registry table) cannot express regular expressions (re)',
      code: 'sigma.conversion_unsupported',
    });
  });

  test('from a Sigma rule: techniques from its tags plus explicit ones', () => {
    const hunt = huntFromSigma(
      "title: Run key\nid: 5f6a3c2e-8d1b-4b7a-9c4e-2a1d3e4f5a6b\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s:\n        TargetObject|contains: '\\CurrentVersion\\Run\\'\n    condition: s\ntags:\n    - attack.persistence\n    - attack.t1547.001\n",
      { attack: ['T1112'] },
    );
    assert.equal(hunt.id, '5f6a3c2e-8d1b-4b7a-9c4e-2a1d3e4f5a6b');
    assert.deepEqual(
      hunt.attack.map((t) => t.id),
      ['T1547.001', 'T1112'],
    );
  });

  test('refusals: unknown or revoked techniques, non-registry STIX objects, sequences, bad IOCs', () => {
    rejects(() => resolveTechniques(['T9999']), 'hunt.unknown_technique', /T9999 is not in the catalog/);
    rejects(() => resolveTechniques(['persistence']), 'hunt.unknown_technique', /not a technique id/);
    rejects(() => huntFromStixIndicator("[file:name = 'x.exe']"), 'hunt.invalid', /only windows-registry-key can be hunted here, not file/);
    rejects(
      () => huntFromStixIndicator("[windows-registry-key:key = 'HKLM\\\\A'] FOLLOWEDBY [windows-registry-key:key = 'HKLM\\\\B']"),
      'hunt.invalid',
      /observation operator FOLLOWEDBY cannot be hunted/,
    );
    rejects(() => huntFromStixIndicator("[windows-registry-key:values[*].data = 'x']"), 'hunt.invalid', /needs a key or a value name/);
    rejects(() => huntFromStixIndicator({ ...INDICATOR, pattern_type: 'yara' }), 'hunt.invalid', /pattern_type "yara" cannot be hunted/);
    rejects(() => huntFromRegistryIoc({ keyPath: 'SOFTWARE\\Run' }), 'hunt.invalid', /must start with a hive/);
    assert.throws(
      () => huntFromStixIndicator('[windows-registry-key:key = '),
      (e: unknown) => e instanceof RiposteError && e.code === 'stix.pattern_invalid',
    );
  });
});
