import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KqlError, runKql } from './kql-subset.ts';

/** The simulator's KQL subset: the operators hunts emit, with Kusto's case rules; the rest is refused. */
const rows = [
  { Name: 'SecurityHealth', Data: 'C:\\Windows\\system32\\SecurityHealthSystray.exe', Size: 10, Ip: '10.1.2.3' },
  { Name: 'OneDriveUpdate', Data: 'C:\\Users\\bob\\AppData\\Roaming\\odu.exe', Size: 300, Ip: '192.168.0.1' },
];
const run = (query: string) => runKql(query, { T: () => rows.map((r) => ({ ...r })) }).map((r) => r.Name);

test('string operators: case-insensitive by default, _cs and == case-sensitive; verbatim and escaped strings', () => {
  assert.deepEqual(run('T | where Data contains @"\\appdata\\"'), ['OneDriveUpdate']);
  assert.deepEqual(run('T | where Data contains_cs @"\\appdata\\"'), []);
  assert.deepEqual(run('T | where Name =~ "onedriveupdate"'), ['OneDriveUpdate']);
  assert.deepEqual(run('T | where Name == "onedriveupdate"'), []);
  assert.deepEqual(run('T | where Data endswith "systray.EXE" or Name startswith_cs "One"'), ['SecurityHealth', 'OneDriveUpdate']);
  assert.deepEqual(run('T | where Name in~ ("securityhealth", "x")'), ['SecurityHealth']);
  assert.deepEqual(run('T | where Data matches regex @"(?i)^c:\\\\users\\\\[^\\\\]+\\\\appdata"'), ['OneDriveUpdate']);
  assert.deepEqual(run("T | where Data contains 'C:\\\\Users'"), ['OneDriveUpdate']);
});

test('not(), functions, numbers, extend / project / take', () => {
  assert.deepEqual(run('T | where not(Name =~ "securityhealth") and todouble(Size) >= 100'), ['OneDriveUpdate']);
  assert.deepEqual(run('T | where ipv4_is_in_range(Ip, "10.0.0.0/8")'), ['SecurityHealth']);
  assert.deepEqual(run('T | extend P = strcat(Name, @"\\", Data) | where P startswith "OneDriveUpdate\\\\C:" | project Name'), ['OneDriveUpdate']);
  assert.deepEqual(run('T | extend E = iff(isempty(Name), "none", Name) | where isnotempty(E) | take 1'), ['SecurityHealth']);
});

test('unknown tables, columns, functions and operators are KqlErrors', () => {
  assert.throws(() => run('Nope | take 1'), KqlError);
  assert.throws(() => run('T | where Missing == 1'), /Failed to resolve scalar expression named 'Missing'/);
  assert.throws(() => run('T | where frob(Name)'), /unknown function frob/);
  assert.throws(() => run('T | summarize count()'), /operator 'summarize' is not supported/);
  assert.throws(() => run('T | where Name == "x'), /unterminated string/);
});
