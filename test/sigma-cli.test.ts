import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

/**
 * `riposte sigma validate|match|convert` through the real binary: exit codes, one-line errors, JSON shapes,
 * bad event lines reported on stderr with their number while the rest is still matched.
 */
const ROOT = resolve(import.meta.dirname, '..');
const LAUNCHER = join(ROOT, 'riposte');
const scratch = mkdtempSync(join(tmpdir(), 'riposte-sigma-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function riposte(args: string[]) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const RULE = `title: Run key value pointing to a user-writable folder
id: 5f6a3c2e-8d1b-4b7a-9c4e-2a1d3e4f5a6b
logsource:
    category: registry_set
    product: windows
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
        Details|contains:
            - '\\AppData\\'
            - '\\Temp\\'
    condition: selection
tags:
    - attack.t1547.001
`;
const ruleFile = join(scratch, 'run_key.yml');
writeFileSync(ruleFile, RULE);

describe('riposte sigma', () => {
  test('match --json prints the count and line numbers; bad lines go to stderr and are skipped', () => {
    const events = [
      {
        EventID: 13,
        TargetObject: 'HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd',
        Details: 'C:\\Users\\a\\AppData\\Roaming\\u.exe',
      },
      { EventID: 13, TargetObject: 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Defender', Details: 'C:\\Program Files\\x.exe' },
    ].map((e) => JSON.stringify(e));
    const lines = [events[0], '{broken', '', events[1], '[1, 2]', events[0]];
    const eventsFile = join(scratch, 'events.jsonl');
    writeFileSync(eventsFile, `${lines.join('\n')}\n`);
    const { code, stdout, stderr } = riposte(['sigma', 'match', '--rule', ruleFile, '--events', eventsFile, '--json']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { matches: 2, lines: [1, 6] });
    const errors = stderr.trim().split('\n');
    assert.equal(errors.length, 2);
    assert.match(errors[0] ?? '', /events\.jsonl line 2: not JSON .*\(skipped\)/);
    assert.match(errors[1] ?? '', /events\.jsonl line 5: must be a JSON object \(skipped\)/);

    const human = riposte(['sigma', 'match', '--rule', ruleFile, '--events', eventsFile]);
    assert.match(human.stdout, /2 event\(s\) match "Run key value pointing to a user-writable folder": line 1, 6/);
  });

  test('convert prints the query for each target; an inexpressible construct fails with one line naming it', () => {
    const kql = riposte(['sigma', 'convert', '--rule', ruleFile, '--to', 'kql']);
    assert.equal(kql.code, 0, kql.stderr);
    assert.match(kql.stdout, /^DeviceRegistryEvents\n\| where ActionType == "RegistryValueSet"/);
    const osquery = riposte(['sigma', 'convert', '--rule', ruleFile, '--to', 'osquery', '--json']);
    assert.equal(osquery.code, 0, osquery.stderr);
    assert.match(JSON.parse(osquery.stdout).query, /^SELECT key, name, path, type, data, mtime FROM registry WHERE/);
    assert.equal(riposte(['sigma', 'convert', '--rule', ruleFile, '--to', 'splunk']).code, 0);

    const regexRule = join(scratch, 'regex.yml');
    writeFileSync(regexRule, "title: r\nlogsource: {category: registry_set}\ndetection:\n    s:\n        Details|re: '^C:.*'\n    condition: s\n");
    const refused = riposte(['sigma', 'convert', '--rule', regexRule, '--to', 'osquery']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'riposte: osquery (registry table) cannot express regular expressions (re) [sigma.conversion_unsupported]\n');

    const badTarget = riposte(['sigma', 'convert', '--rule', ruleFile, '--to', 'elastic']);
    assert.equal(badTarget.code, 2);
    assert.match(badTarget.stderr, /--to must be one of kql, osquery, splunk/);
  });

  test('validate lists every problem as file:line:col and exits 1; valid rules say ok', () => {
    const bad = join(scratch, 'bad.yml');
    writeFileSync(bad, "title: b\nlogsource: {category: registry_set}\ndetection:\n    s:\n        Image|sha256: 'x'\n    condition: s or filter\n");
    const { code, stdout } = riposte(['sigma', 'validate', ruleFile, bad]);
    assert.equal(code, 1);
    assert.deepEqual(stdout.trim().split('\n'), [
      `${ruleFile}: ok (Run key value pointing to a user-writable folder)`,
      `${bad}:5:9: Image|sha256: unknown modifier 'sha256'`,
      `${bad}:6:21: condition: unknown search identifier "filter" (character 6)`,
    ]);
    const broken = riposte(['sigma', 'match', '--rule', bad, '--events', ruleFile]);
    assert.equal(broken.code, 1);
    assert.equal(broken.stderr.trim().split('\n').length, 1);
    assert.match(broken.stderr, /invalid Sigma rule: .*bad\.yml:5:9: Image\|sha256: unknown modifier 'sha256' \(and 1 more\) \[sigma\.invalid_rule\]/);
  });
});
