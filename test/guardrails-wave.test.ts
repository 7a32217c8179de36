import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { openRuntime, type Runtime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * The acceptance test, through the real runner and the built-in policy: 1,000 indicators with
 * mixed confidence, 50 of them allow-listed (a partner's range) or critical assets in the CMDB, each
 * driving a playbook run whose destructive block passes the guard. Nobody approves anything, so:
 * no block reaches an allow-listed or critical target; the blast-radius limit (20 destructive actions of
 * one kind per hour) stops the wave at exactly 20 blocks and pages the on-call (a `policy.page` record);
 * every one of the 1,000 decisions is on the audit chain, and the chain verifies.
 */
const PLAYBOOK = `
id: wave-block
version: 1
title: Block an indicator from the feed
inputs:
  ip: { type: ip }
  confidence: { type: number }
steps:
  - id: block
    action: lab.block_ip
    with: { ip: "{{ inputs.ip }}", ttl: 24h, confidence: "{{ inputs.confidence }}", verdict: malicious, indicator_source: "feed:wave" }
    on_error: continue
`;

const blocked = new Map<string, number>();
const blockIp = defineAction({
  id: 'lab.block_ip',
  title: 'Block an IP at the (loopback) firewall',
  impact: 'destructive',
  inverse: 'lab.unblock_ip',
  input: z.object({ ip: z.string(), ttl: z.string().optional() }),
  run(input) {
    blocked.set(input.ip, (blocked.get(input.ip) ?? 0) + 1);
    return { blocked: input.ip };
  },
});
const unblockIp = defineAction({
  id: 'lab.unblock_ip',
  title: 'Unblock an IP',
  impact: 'write',
  input: z.object({ ip: z.string() }),
  run: (input) => ({ unblocked: input.ip }),
});

interface Indicator {
  ip: string;
  confidence: number;
  kind: 'partner' | 'critical' | 'plain';
}

/** 25 partner addresses and 25 critical servers (all at confidence 95: the most tempting to block), 950 others of mixed confidence. */
function indicators(): Indicator[] {
  const out: Indicator[] = [];
  for (let i = 1; i <= 25; i++) out.push({ ip: `198.51.100.${i}`, confidence: 95, kind: 'partner' });
  for (let i = 1; i <= 25; i++) out.push({ ip: `10.20.0.${i}`, confidence: 95, kind: 'critical' });
  for (let i = 0; i < 950; i++) out.push({ ip: `100.64.${Math.floor(i / 250)}.${(i % 250) + 1}`, confidence: [95, 70, 30][i % 3] as number, kind: 'plain' });
  // Interleave, so the protected targets arrive in the middle of the wave, not first.
  return out
    .map((x, i) => ({ x, k: (i * 7919) % out.length }))
    .sort((a, b) => a.k - b.k)
    .map(({ x }) => x);
}

for (const backend of testBackends()) {
  describe(`guardrails wave: 1,000 indicators through the runner (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-wave-'));
    let testStore: TestStore;
    let runtime: Runtime;

    async function boot(): Promise<void> {
      const config = loadConfig({
        env: testStore.env,
        cwd: dir,
        overrides: {
          'log.level': 'silent',
          'engine.playbooks_dir': join(dir, 'playbooks'),
          'policy.allow_lists': { partners: [{ name: 'Acme Logistics', cidrs: ['198.51.100.0/24'] }] },
          data_dir: join(dir, 'data'),
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), {
        env: { RIPOSTE_MASTER_KEY: 'cd'.repeat(32) },
        announce: () => {},
        actions: [blockIp, unblockIp],
        runner: { pollMs: 20 },
      });
    }

    before(async () => {
      blocked.clear();
      mkdirSync(join(dir, 'playbooks'));
      writeFileSync(join(dir, 'playbooks', 'wave-block.yml'), PLAYBOOK);
      const assets = [
        'name,ip,owner,criticality,environment',
        ...Array.from({ length: 25 }, (_, i) => `Server ${i + 1},10.20.0.${i + 1},Payments,critical,prod`),
      ];
      writeFileSync(join(dir, 'assets.csv'), `${assets.join('\n')}\n`);
      testStore = await backend.open();
      await testStore.store.close();
      await boot();
      await runtime.integrations.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await runtime.close();
      await boot();
    });
    after(async () => {
      await runtime.close();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    test('no allow-listed or critical target is blocked, the wave stops at the blast-radius limit and pages, every decision is chained', async () => {
      const playbook = runtime.playbooks.get('wave-block');
      assert.ok(playbook, 'the wave playbook loads');
      const wave = indicators();
      const protectedIps = new Set(wave.filter((w) => w.kind !== 'plain').map((w) => w.ip));
      assert.equal(wave.length, 1000);
      assert.equal(protectedIps.size, 50);

      const runIds = await runtime.engine.startRuns(
        wave.map((w) => ({ playbook, inputs: { ip: w.ip, confidence: w.confidence } })),
        { startedBy: 'feed:wave' },
      );
      await runtime.engine.start();
      // Settled: each run finished (allowed and blocked, or denied and carried on) or parked on an approval.
      const deadline = Date.now() + 110_000;
      for (;;) {
        const active = await runtime.engine.listRuns({ status: ['queued', 'running'], limit: 1 });
        const waitingRows = await runtime.engine.listRuns({ status: ['waiting'], limit: 1000 });
        const parked = waitingRows.filter((r) => r.wakeAt === null || r.wakeAt - Date.now() > 60_000).length;
        if (active.length === 0 && parked === waitingRows.length) break;
        assert.ok(Date.now() < deadline, 'the wave settles');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      // 1. Zero destructive actions reached a protected target.
      const reached = [...blocked.keys()].filter((ip) => protectedIps.has(ip));
      assert.deepEqual(reached, [], 'no partner or critical address was blocked');

      // 2. The blast-radius limit stopped the wave: exactly 20 blocks ran, each once, all high-confidence plain targets.
      assert.equal(blocked.size, 20, `the wave stops at the limit (${blocked.size} blocked)`);
      for (const [ip, times] of blocked) {
        assert.equal(times, 1, `${ip} blocked once`);
        assert.equal(wave.find((w) => w.ip === ip)?.confidence, 95);
      }
      const approvals = [];
      for (const runId of runIds) approvals.push(...(await runtime.store.approvals.listByRun(runId)));
      const documents = approvals.map(
        (a) => a.document as { policy: { rule: { id: string } }; required: number; page_on_call: boolean; arguments: { ip: string } },
      );
      const blastRadius = documents.filter((d) => d.policy.rule.id === 'blast-radius');
      assert.ok(blastRadius.length > 0, 'runs past the limit wait for the blast-radius approval');
      for (const d of blastRadius) {
        assert.equal(d.required, 2, 'two approvers past the limit');
        assert.equal(d.page_on_call, true);
      }
      for (const d of documents.filter((doc) => protectedIps.has(doc.arguments.ip))) {
        assert.ok(['critical-asset', 'blast-radius'].includes(d.policy.rule.id), `a critical target waits for people (${d.policy.rule.id})`);
      }

      // 3. The page is recorded (chained) for every blast-radius approval: what the chat channel delivers.
      const pages = await allAudit('policy.page');
      assert.equal(pages.length, blastRadius.length, 'one page record per blast-radius approval');

      // 4. Every decision is on the audit chain, and the chain verifies.
      const decisions = await allAudit('policy.decision');
      assert.equal(decisions.length, 1000, 'one chained policy decision per indicator');
      const verdicts = new Map<string, number>();
      for (const d of decisions) {
        const decision = String((d.details as { decision?: string }).decision);
        verdicts.set(decision, (verdicts.get(decision) ?? 0) + 1);
      }
      assert.equal(verdicts.get('allow'), 20);
      assert.ok((verdicts.get('deny') ?? 0) >= 25 + 316, `partners and low confidence are denied (${JSON.stringify([...verdicts])})`);
      const chain = await runtime.cases.verifyAudit();
      assert.equal(chain.ok, true, JSON.stringify(chain.broken));

      // 5. The blocks that ran are in the containment ledger with their undo.
      assert.equal((await runtime.guardrails.containment.list({ status: 'active', limit: 1000 })).length, 20);
    });

    async function allAudit(action: string): Promise<Array<{ details: unknown }>> {
      const out: Array<{ details: unknown }> = [];
      let after: number | undefined;
      for (;;) {
        const page = await runtime.cases.auditList({ action, limit: 1000, ...(after === undefined ? {} : { after }) });
        out.push(...(page.items as Array<{ details: unknown }>));
        if (!page.next_cursor) return out;
        after = Number(page.next_cursor);
      }
    }
  });
}
