import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';

/**
 * `riposte stix validate-pattern|match --jsonl` through the real binary with 10,000-line inputs: one output
 * line per input line, in order, bad lines reported and skipped over, nothing buffered whole.
 */
const ROOT = resolve(import.meta.dirname, '..');
const LAUNCHER = join(ROOT, 'riposte');

function runJsonl(args: string[], lines: string[]): Promise<{ code: number | null; out: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolveRun({
        code,
        stderr,
        out: stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    );
    // Written in chunks, as a pipe delivers them, to exercise line reassembly across reads.
    const text = `${lines.join('\n')}\n`;
    for (let i = 0; i < text.length; i += 65_521) child.stdin.write(text.slice(i, i + 65_521));
    child.stdin.end();
  });
}

function observation(i: number, value: string): unknown[] {
  return [
    {
      type: 'observed-data',
      id: `observed-data--${i}`,
      first_observed: '2020-01-01T00:00:00Z',
      last_observed: '2020-01-01T00:00:00Z',
      number_observed: 1,
      object_refs: [`ipv4-addr--${i}`],
    },
    { type: 'ipv4-addr', id: `ipv4-addr--${i}`, value },
  ];
}

describe('riposte stix --jsonl', () => {
  test('validate-pattern: 10,000 lines, valid, invalid and unreadable', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 1000 === 999) lines.push('{not json');
      else if (i % 3 === 0) lines.push(JSON.stringify({ id: `p${i}`, pattern: `[ipv4-addr:value = '10.0.${(i >> 8) & 255}.${i & 255}']` }));
      else if (i % 3 === 1) lines.push(JSON.stringify({ id: `p${i}`, pattern: `[file:name = 'x${i}' AND` }));
      else lines.push(JSON.stringify({ id: i, pattern: "[x-custom:'a b'[*].c_ref.d MATCHES '^a'] REPEATS 2 TIMES" }));
    }
    const { code, out, stderr } = await runJsonl(['stix', 'validate-pattern', '--jsonl'], lines);
    assert.equal(code, 0, stderr);
    assert.equal(out.length, 10_000);
    for (let i = 0; i < 10_000; i++) {
      const line = out[i] as Record<string, unknown>;
      if (i % 1000 === 999) {
        assert.equal(line.id, null);
        assert.equal(line.valid, false);
        assert.match(String(line.error), new RegExp(`line ${i + 1}: not JSON`));
      } else if (i % 3 === 1) {
        assert.deepEqual([line.id, line.valid], [`p${i}`, false]);
        assert.match(String(line.error), /unexpected end of pattern .*offset/);
      } else {
        assert.deepEqual(line, { id: i % 3 === 0 ? `p${i}` : i, valid: true });
      }
    }
  });

  test('match: 10,000 lines, STIX 2.1 and 2.0 observations, errors per line', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const ip = `198.51.${i % 2 === 0 ? 100 : 101}.${i & 255}`;
      if (i % 500 === 7) lines.push(JSON.stringify({ id: `m${i}`, pattern: '[bad', observations: [] }));
      else if (i % 500 === 8) lines.push(JSON.stringify({ id: `m${i}`, pattern: '[a:b = 1]', observations: 'nope' }));
      else if (i % 4 === 3)
        lines.push(
          JSON.stringify({
            id: `m${i}`,
            pattern: "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            options: { stix_version: '2.0' },
            observations: [
              {
                type: 'observed-data',
                id: 'observed-data--x',
                first_observed: '2020-01-01T00:00:00Z',
                last_observed: '2020-01-01T00:00:00Z',
                number_observed: 1,
                objects: { '0': { type: 'ipv4-addr', value: ip } },
              },
            ],
          }),
        );
      else
        lines.push(
          JSON.stringify({
            id: `m${i}`,
            pattern: "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            observations: [{ type: 'bundle', id: 'bundle--1', objects: observation(i, ip) }],
          }),
        );
    }
    const { code, out, stderr } = await runJsonl(['stix', 'match', '--jsonl'], lines);
    assert.equal(code, 0, stderr);
    assert.equal(out.length, 10_000);
    for (let i = 0; i < 10_000; i++) {
      const line = out[i] as Record<string, unknown>;
      assert.equal(line.id, `m${i}`);
      if (i % 500 === 7 || i % 500 === 8) {
        assert.equal(line.result, 'error');
        assert.ok(typeof line.error === 'string' && line.error.length > 0);
      } else assert.equal(line.result, i % 2 === 0 ? 'match' : 'nomatch', JSON.stringify(line));
    }
  });

  test('--jsonl is required (usage error, exit 2)', async () => {
    const { code, stderr } = await runJsonl(['stix', 'match'], []);
    assert.equal(code, 2);
    assert.match(stderr, /--jsonl is required/);
  });
});
