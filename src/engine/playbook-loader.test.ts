import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { builtinActions, defineAction, type Playbook, parsePlaybookYaml, playbookJsonSchema } from './index.ts';

const actions = builtinActions().register(
  defineAction({
    id: 'firewall.block_ip',
    title: 'Block an IP',
    impact: 'destructive',
    input: z.object({ ip: z.string(), ttl_hours: z.number().int().positive() }).strict(),
    run: () => ({ blocked: true }),
  }),
);

const valid = `
id: contain-ip
version: 2
title: Contain an IP
inputs:
  ip: { type: ipv4 }
steps:
  - id: note
    action: core.log
    with: { message: "checking {{ inputs.ip }}" }
  - id: decide
    if: "{{ inputs.ip | is_private_ip }}"
    then:
      - { id: skip, succeed: { output: { skipped: true } } }
  - id: block
    action: firewall.block_ip
    with: { ip: "{{ inputs.ip }}", ttl_hours: 24 }
    retry: { attempts: 3, backoff: 2s }
    on_error: { goto: tell }
  - id: tell
    action: core.log
    with: { message: done }
`;

describe('playbook loader', () => {
  test('a valid playbook loads with defaults applied', () => {
    const { playbook, issues } = parsePlaybookYaml(valid, { actions });
    assert.deepEqual(issues, []);
    assert.equal(playbook?.id, 'contain-ip');
    const block = playbook?.steps[2] as Playbook['steps'][number] & { retry: { jitter: boolean } };
    assert.equal(block.retry.jitter, true);
  });

  test('every problem is reported at once with line, column and a hint', () => {
    const text = `id: bad
version: 1
title: Bad
steps:
  - id: one
    acton: core.log
  - id: two
    action: core.nope
  - id: three
    action: firewall.block_ip
    with: { ip: "{{ inputs.ip }}", ttl_hours: "soon" }
  - id: two
    set: { x: "{{ inputs.ip | nosuchfilter }}" }
  - id: four
    action: core.log
    with: { message: "{{ broken " }
    on_error: { goto: nowhere }
  - id: five
    wait: { duration: 5 parsecs }
`;
    const { playbook, issues } = parsePlaybookYaml(text, { actions });
    assert.equal(playbook, undefined);
    const byCode = (code: string) => issues.filter((i) => i.code === code);
    const kind = byCode('engine.unknown_step_kind')[0];
    assert.equal(kind?.line, 6);
    assert.equal(kind?.column, 5);
    assert.match(kind?.hint ?? '', /did you mean "action"/);
    const action = byCode('engine.unknown_action')[0];
    assert.equal(action?.line, 8);
    assert.match(action?.hint ?? '', /did you mean "core.log"/);
    const input = byCode('engine.invalid_action_input');
    assert.equal(input.length, 1, 'the templated ip is not flagged; the literal ttl_hours is');
    assert.deepEqual(input[0]?.path, ['steps', 2, 'with', 'ttl_hours']);
    assert.equal(input[0]?.line, 11);
    assert.equal(byCode('engine.duplicate_step_id')[0]?.line, 12);
    const templates = byCode('engine.template_syntax');
    assert.equal(templates.length, 2);
    assert.ok(templates.some((t) => /unknown filter "nosuchfilter"/.test(t.message)));
    assert.ok(templates.some((t) => t.line === 16));
    assert.equal(byCode('engine.unknown_goto')[0]?.line, 17);
    assert.ok(issues.some((i) => i.code === 'engine.invalid_field' && i.path.join('.').startsWith('steps.5.wait')));
  });

  test('invalid YAML is reported with its position', () => {
    const { issues } = parsePlaybookYaml('id: x\nsteps:\n  - id: a\n    with: [1, 2\n');
    assert.equal(issues[0]?.code, 'engine.invalid_yaml');
    assert.ok((issues[0]?.line ?? 0) >= 4);
  });

  test('unknown fields get a did-you-mean hint', () => {
    const { issues } = parsePlaybookYaml('id: x\nversion: 1\ntitle: X\nstep:\n  - { id: a, succeed: true }\n');
    const unknown = issues.find((i) => i.code === 'engine.unknown_field');
    assert.equal(unknown?.line, 4);
    assert.match(unknown?.hint ?? '', /did you mean "steps"/);
  });

  test('call cycles are found through other playbooks', () => {
    const other = parsePlaybookYaml('id: b\nversion: 1\ntitle: B\nsteps:\n  - { id: back, call: { playbook: a } }\n').playbook as Playbook;
    const catalog = { get: (id: string) => (id === 'b' ? other : undefined) };
    const { issues } = parsePlaybookYaml('id: a\nversion: 1\ntitle: A\nsteps:\n  - { id: go, call: { playbook: b } }\n', { playbooks: catalog });
    assert.equal(issues[0]?.code, 'engine.call_cycle');
    assert.match(issues[0]?.message ?? '', /a → b → a/);
    const self = parsePlaybookYaml('id: a\nversion: 1\ntitle: A\nsteps:\n  - { id: go, call: { playbook: a } }\n', { playbooks: catalog });
    assert.equal(self.issues[0]?.code, 'engine.call_cycle');
  });

  test('schemas/playbook.schema.json is generated from the current zod schemas', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schemas/playbook.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(playbookJsonSchema())), 'run: node scripts/generate-playbook-schema.ts');
  });
});
