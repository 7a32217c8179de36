import assert from 'node:assert/strict';
import { test } from 'node:test';
import { huntFromRegistryIoc, huntFromSigma } from '../analyzers/index.ts';
import { registryEvent, rtrRegistryKeys } from './hunt-crowdstrike.ts';

test('RTR keys: a key without a hive is read in HKLM and each user hive; HKCU only in user hives; HKLM once', () => {
  const sigma = huntFromSigma(
    "title: t\nlogsource: {category: registry_set, product: windows}\ndetection:\n  s:\n    TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'\n  condition: s\n",
  );
  assert.deepEqual(rtrRegistryKeys(sigma), [
    { scope: 'machine', path: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run' },
    { scope: 'user', path: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run' },
  ]);
  assert.deepEqual(rtrRegistryKeys(huntFromRegistryIoc({ keyPath: 'HKEY_CURRENT_USER\\Software\\X\\Run', valueName: 'Updater' })), [
    { scope: 'user', path: 'Software\\X\\Run' },
  ]);
  // A key without a value name: the key itself (its values), and its parent in case the last segment names a value.
  assert.deepEqual(rtrRegistryKeys(huntFromRegistryIoc({ keyPath: 'HKLM\\Software\\X\\RunOnce' })), [
    { scope: 'machine', path: 'Software\\X' },
    { scope: 'machine', path: 'Software\\X\\RunOnce' },
  ]);
});

test('RTR keys: a wildcard inside the key path cannot be read one key at a time', () => {
  const rule = huntFromSigma(
    "title: t\nlogsource: {category: registry_set, product: windows}\ndetection:\n  s:\n    TargetObject|startswith: 'HKLM\\SOFTWARE\\*\\Run\\'\n  condition: s\n",
  );
  assert.throws(() => rtrRegistryKeys(rule), /wildcard inside the key path/);
});

test('a reg query value becomes the Sysmon event the hunt rule matches', () => {
  assert.deepEqual(registryEvent('HKEY_USERS\\S-1-5-21-1\\Software\\Run', { name: 'U', type: 'REG_DWORD', data: '16' }), {
    EventID: 13,
    EventType: 'SetValue',
    TargetObject: 'HKU\\S-1-5-21-1\\Software\\Run\\U',
    Details: 'DWORD (0x00000010)',
  });
});
