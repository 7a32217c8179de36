import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../core/index.ts';
import type { AiInteractionRecord } from './index.ts';
import { type TestStore, testBackends } from './testing.ts';

for (const backend of testBackends()) {
  describe(`AI repository contract (${backend.backend})`, () => {
    let t: TestStore;
    const clock: Clock = { now: () => 1_800_000_000_000 } as Clock;
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    const interaction = (id: string, caseId: string | null, createdAt: number, tokens: [number, number]): AiInteractionRecord => ({
      id,
      caseId,
      kind: caseId ? 'summary' : 'playbook_draft',
      model: 'lab-model',
      actor: { kind: 'user', id: 'u1', name: 'alice' },
      status: 'ok',
      promptTokens: tokens[0],
      completionTokens: tokens[1],
      latencyMs: 42,
      injection: { suspected: true, signals: [{ where: 'comment 1', pattern: 'role reassignment', excerpt: 'you are now…' }] },
      withheld: { tlp_red: 2 },
      output: { summary: 'ünïcode ✓ and "quotes"' },
      request: { messages: [{ role: 'system', content: 'rules' }] },
      responseText: '{"summary":"…"}',
      error: null,
      createdAt,
    });

    test('stores interactions whole and lists a case newest first', async () => {
      await t.store.ai.insertInteraction(interaction('a1', 'case-1', 1000, [100, 20]));
      await t.store.ai.insertInteraction(interaction('a2', 'case-1', 3000, [50, 10]));
      await t.store.ai.insertInteraction(interaction('a3', 'case-2', 2000, [7, 3]));
      await t.store.ai.insertInteraction({
        ...interaction('a4', null, 4000, [5, 5]),
        status: 'error',
        output: null,
        responseText: null,
        error: { code: 'ai.endpoint_failed' },
      });
      const got = await t.store.ai.getInteraction('a1');
      assert.deepEqual(got, interaction('a1', 'case-1', 1000, [100, 20]));
      assert.deepEqual(
        (await t.store.ai.interactionsOfCase('case-1')).map((r) => r.id),
        ['a2', 'a1'],
      );
      const failed = await t.store.ai.getInteraction('a4');
      assert.equal(failed?.output, null);
      assert.deepEqual(failed?.error, { code: 'ai.endpoint_failed' });
      assert.equal(await t.store.ai.getInteraction('nope'), undefined);
    });

    test('usage sums tokens per case and since a time', async () => {
      assert.deepEqual(await t.store.ai.usage({ caseId: 'case-1' }), { requests: 2, promptTokens: 150, completionTokens: 30 });
      assert.deepEqual(await t.store.ai.usage({ since: 2000 }), { requests: 3, promptTokens: 62, completionTokens: 18 });
      assert.deepEqual(await t.store.ai.usage({ caseId: 'case-none' }), { requests: 0, promptTokens: 0, completionTokens: 0 });
    });

    test('drafts keep their YAML, validity and issues; listed newest first', async () => {
      const draft = {
        id: 'd1',
        title: 'Enrich an IP',
        description: 'enrich',
        yaml: 'id: x\nversion: 1\n',
        valid: false,
        issues: [{ message: 'steps is required', line: 1, column: 1 }],
        status: 'draft' as const,
        createdBy: 'alice',
        createdAt: 10,
        interactionId: 'a4',
      };
      await t.store.ai.insertDraft(draft);
      await t.store.ai.insertDraft({ ...draft, id: 'd2', valid: true, issues: [], createdAt: 20 });
      assert.deepEqual(await t.store.ai.getDraft('d1'), draft);
      assert.equal((await t.store.ai.getDraft('d2'))?.valid, true);
      assert.deepEqual(
        (await t.store.ai.listDrafts()).map((d) => d.id),
        ['d2', 'd1'],
      );
    });
  });
}
