import assert from 'node:assert/strict';
import { test } from 'node:test';
import { huntFromRegistryIoc, huntFromSigma, huntFromStixIndicator, SigmaRuleSet } from '../src/analyzers/index.ts';
import { createFleet } from '../src/lab/index.ts';

/**
 * The T1547.001 hunt over 200 simulated endpoints, evaluated locally over each endpoint's registry as Sysmon
 * events: the Sigma rule, the STIX indicator and the plain IOC each find exactly the infected endpoints and
 * none of the ordinary Run values (SecurityHealth, OneDrive, Teams).
 */
const RUN_KEY_RULE = `title: Run key value pointing to a user-writable folder
id: 5f6a3c2e-8d1b-4b7a-9c4e-2a1d3e4f5a6b
logsource:
    category: registry_set
    product: windows
detection:
    selection_key:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains:
            - '\\AppData\\Roaming\\'
            - '\\AppData\\Local\\Temp\\'
            - '\\Windows\\Temp\\'
    condition: all of selection_*
tags:
    - attack.t1547.001
`;

test('Sigma, STIX and IOC hunts find exactly the infected endpoints of a 200-endpoint fleet', () => {
  const fleet = createFleet({ size: 200, seed: 42, infected: 5 });
  const hunts = [
    huntFromSigma(RUN_KEY_RULE),
    huntFromStixIndicator(
      "[windows-registry-key:key LIKE 'HKEY_USERS\\\\%\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run' AND windows-registry-key:values[*].name = 'OneDriveUpdate']",
      { attack: ['T1547.001'] },
    ),
    huntFromRegistryIoc(
      { keyPath: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', valueName: 'OneDriveUpdate' },
      { attack: ['T1547.001'] },
    ),
  ];
  const expected = fleet
    .infected()
    .map((e) => e.hostname)
    .sort();
  assert.equal(expected.length, 5);
  for (const hunt of hunts) {
    assert.deepEqual(
      hunt.attack.map((t) => t.id),
      ['T1547.001'],
    );
    const set = new SigmaRuleSet([hunt.rule]);
    const hits = fleet.endpoints
      .filter((e) => fleet.registryEvents(e).some((event) => set.matching(event).length > 0))
      .map((e) => e.hostname)
      .sort();
    assert.deepEqual(hits, expected, `${hunt.source} hunt`);
  }
});
