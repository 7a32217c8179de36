import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../main.ts';
import { withCliStreams } from '../output.ts';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const capture = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } };
  const saved = process.exitCode;
  try {
    const code = await withCliStreams(capture, () => runCli(args));
    return { code, stdout, stderr };
  } finally {
    process.exitCode = saved;
  }
}

describe('riposte policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-policy-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('default prints a policy that validate accepts', async () => {
    const printed = await cli('policy', 'default');
    assert.equal(printed.code, 0);
    const path = file('policy.yml', printed.stdout);
    const valid = await cli('policy', 'validate', path);
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /policy builtin-default v2 is valid \(7 rules/);
    const json = JSON.parse((await cli('policy', 'validate', path, '--json')).stdout);
    assert.equal(json.valid, true);
    assert.match(json.digest, /^[0-9a-f]{64}$/);
  });

  test('validate lists every problem at file:line:col and exits 1', async () => {
    const path = file(
      'bad.yml',
      'id: x\nversion: 1\nrules:\n  - id: a\n    decision: deny\n    reason: r\n    when: { field: indicator.confidense, lt: 5 }\n  - id: b\n    decision: nope\n    reason: r\n',
    );
    const result = await cli('policy', 'validate', path);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`${path.replace(/[.]/g, '\\.')}:7:13: unknown field "indicator.confidense"`));
    assert.match(result.stdout, /:9:\d+: rules\.1\.decision: must be one of allow, require_approval, deny/);
  });

  test('test runs the sibling *.test.yml against its policy; a failing case exits 1', async () => {
    file('tiers.yml', (await cli('policy', 'default')).stdout);
    const cases = (expected: string) => `base_input:
  requester: { id: "playbook:ip" }
  allow_lists: { partners: [{ name: Acme, cidrs: [198.51.100.0/24] }] }
cases:
  - name: partner never blocked
    input:
      action: { id: firewall.block_ip, impact: destructive }
      targets: [{ type: ipv4, value: 198.51.100.9 }]
      indicator: { confidence: 40 }
    expect: { decision: ${expected}, reasons_include: [Acme] }
`;
    file('tiers.test.yml', cases('deny'));
    const passing = await cli('policy', 'test', join(dir, 'tiers.yml'));
    assert.equal(passing.code, 0, passing.stdout + passing.stderr);
    assert.match(passing.stdout, /1 passed, 0 failed/);
    file('tiers.test.yml', cases('allow'));
    const failing = await cli('policy', 'test', join(dir, 'tiers.test.yml'));
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /FAIL .* partner never blocked\n\s+expected allow, got deny/);
    const missing = await cli('policy', 'test', join(dir, 'nothing.yml'));
    assert.equal(missing.code, 2);
  });

  test('explain prints the decision, the deciding rule and every reason', async () => {
    const input = file(
      'input.yml',
      'action: { id: firewall.block_ip, impact: destructive, arguments: { ip: 203.0.113.7 } }\ntargets: [{ type: ipv4, value: 203.0.113.7 }]\nindicator: { confidence: 72 }\nrequester: { id: alice }\n',
    );
    const result = await cli('policy', 'explain', '--input', input);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /decision: require_approval\napproval: 1 approver\(s\), roles approver, admin, expires after 240 min then reject/);
    assert.match(result.stdout, /decided by: rule medium-confidence of policy builtin-default v2/);
    const json = JSON.parse((await cli('policy', 'explain', '--input', input, '--json')).stdout);
    assert.equal(json.decision, 'require_approval');
    const bad = await cli('policy', 'explain', '--input', file('bad-input.yml', 'action: { id: x, impact: huge }\n'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /action\.impact: .*\[policy\.invalid_input\]/);
  });
});
