import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_ACTOR } from '../src/core/index.ts';
import { type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { type AiWorld, addIntel, freshIp, ipIndicator, openAiWorld } from './ai-fixtures.ts';

/**
 * AI assistance through the real HTTP API against the lab model server, on both stores: the four features,
 * what lands on the case, permissions, startable rules, TLP gating, redaction, budgets, bad model output and
 * endpoint failures, and drafts that are validated and never enabled.
 */
type Answer = {
  interaction_id: string;
  kind: string;
  model: string;
  output: Record<string, unknown>;
  injection: { suspected: boolean; signals: Array<{ where: string; pattern: string; excerpt: string }> };
  withheld: { tlp_red: number };
  usage: { prompt_tokens: number; completion_tokens: number; latency_ms: number };
};
type Step = {
  title: string;
  mitigation: { id: string } | null;
  playbook: { id: string; inputs: Record<string, string> } | null;
  startable: boolean;
  refused_reason: string | null;
};

const VT_SECRET = 'vt-secret-value-7f3a9c21';

for (const backend of testBackends()) {
  describe(`AI assistance API (${backend.backend})`, () => {
    let w: AiWorld;
    let caseId: string;
    let ip: string;
    before(async () => {
      w = await openAiWorld(backend, { env: { RIPOSTE_SECRET_VT_KEY: VT_SECRET } });
      ip = freshIp();
      caseId = await w.alert({
        title: `Beaconing to ${ip}`,
        severity: 'high',
        description: 'Periodic HTTPS beacons from web-01',
        observables: [{ type: 'ipv4', value: ip }],
        techniques: ['T1071'],
      });
    });
    after(async () => {
      await w?.close();
    });

    test('status says enabled, the model and the endpoint origin only', async () => {
      const res = await w.call('GET', '/api/v1/ai/status', await w.token('viewer'));
      assert.equal(res.status, 200);
      assert.equal(res.body.enabled, true);
      assert.equal(res.body.model, w.sim.model);
      assert.equal(res.body.endpoint, new URL(w.sim.url).origin);
      assert.deepEqual(res.body.budget, { case_tokens: 60000, daily_tokens: 2000000 });
    });

    test('a summary names the case and its observable, is stored, and goes on the timeline; a viewer may not ask', async () => {
      const viewer = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('viewer'), {});
      assert.equal(viewer.status, 403);
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const answer = res.body as unknown as Answer;
      assert.equal(answer.kind, 'summary');
      assert.match(String(answer.output.summary), new RegExp(`Case #\\d+ "Beaconing to ${ip.replace(/\./g, '\\.')}"`));
      assert.ok(answer.usage.prompt_tokens > 0 && answer.usage.completion_tokens > 0);
      assert.equal(answer.injection.suspected, false);
      const timeline = await w.runtime.cases.timeline(caseId);
      const entry = timeline.items.find((e) => e.kind === 'ai.interaction');
      assert.match(
        entry?.summary ?? '',
        new RegExp(`^AI summary requested by analyst-\\w+ — ${answer.usage.prompt_tokens}\\+${answer.usage.completion_tokens} tokens, \\d+ ms$`),
      );
      const list = await w.call('GET', `/api/v1/cases/${caseId}/ai/interactions`, await w.token('viewer'));
      const interactions = list.body.interactions as Array<{ id: string; status: string; request?: unknown }>;
      assert.equal(interactions[0]?.id, answer.interaction_id);
      assert.equal(interactions[0]?.status, 'ok');
      assert.equal(interactions[0]?.request, undefined, 'the prompt is for audit:read only');
      assert.equal((await w.call('GET', `/api/v1/ai/interactions/${answer.interaction_id}`, await w.token('analyst'))).status, 403);
      const full = await w.call('GET', `/api/v1/ai/interactions/${answer.interaction_id}`, await w.token('admin'));
      assert.equal(full.status, 200);
      assert.match(JSON.stringify(full.body.request), /<<<DATA [0-9a-f]{16} \| alert 1 field title>>>/);
    });

    test('a POST without a body counts as {}; unknown body fields are stripped and start nothing', async () => {
      const token = await w.token('analyst');
      const bare = await fetch(`${w.server.url}/api/v1/cases/${caseId}/ai/summary`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(bare.status, 200, await bare.clone().text());
      const extra = await w.call('POST', `/api/v1/cases/${caseId}/ai/next-steps`, token, { start: true, playbook: 'block-ip-manually' });
      assert.equal(extra.status, 200);
      assert.deepEqual(await w.runtime.store.engine.listRuns(), []);
    });

    test('explain uses the stored verdict, reasons and evidence; the model cannot change the verdict', async () => {
      const [observable] = await w.runtime.cases.observablesOf(caseId);
      assert.ok(observable);
      await w.runtime.cases.recordEnrichment(
        observable.id,
        {
          verdict: 'malicious',
          confidence: 91,
          enrichment: {
            verdict: 'malicious',
            confidence: 91,
            reasons: ['3 of 4 threat-intel sources call it malicious', 'seen beaconing from an internal host'],
            sources: { virustotal: { evaluation: 'malicious', reliability: 8, summary: '41/90 engines' }, greynoise: { evaluation: 'benign', reliability: 6 } },
          },
        },
        SYSTEM_ACTOR,
      );
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/explain`, await w.token('approver'), { observable: ip });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const output = res.body.output as { observable: string; verdict: string; explanation: string; factors: Array<{ source: string; effect: string }> };
      assert.equal(output.observable, ip);
      assert.equal(output.verdict, 'malicious');
      assert.match(output.explanation, /3 of 4 threat-intel sources/);
      assert.ok(output.factors.some((f) => f.source === 'virustotal' && f.effect === 'raises'));
      assert.ok(output.factors.some((f) => f.source === 'greynoise' && f.effect === 'lowers'));
      const elsewhere = await w.call('POST', `/api/v1/cases/${caseId}/ai/explain`, await w.token('analyst'), { observable: '203.0.113.250' });
      assert.equal(elsewhere.status, 400);
    });

    test('next steps come from the menu: ATT&CK mitigations and a startable playbook fed by the case observable; nothing starts', async () => {
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/next-steps`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const steps = (res.body.output as { steps: Step[] }).steps;
      assert.ok(steps.some((s) => s.mitigation && /^M\d{4}$/.test(s.mitigation.id)));
      const run = steps.find((s) => s.playbook?.id === 'block-ip-manually');
      assert.deepEqual(run?.playbook?.inputs, { ip });
      assert.equal(run?.startable, true);
      assert.equal(run?.refused_reason, null);
      assert.deepEqual(await w.runtime.store.engine.listRuns(), []);
    });

    test('startable only when every input is a case observable or a declared constant', async () => {
      const step = (inputs: Array<{ name: string; value: string }>, id = 'block-ip-manually') => ({
        title: 't',
        rationale: 'r',
        technique: null,
        mitigation: null,
        playbook: { id, title: 'x', inputs },
      });
      w.sim.queueContent(
        JSON.stringify({
          steps: [
            step([
              { name: 'ip', value: ip },
              { name: 'ttl', value: '1h' },
            ]),
            step([{ name: 'ip', value: '8.8.8.8' }]),
            step([
              { name: 'ip', value: ip },
              { name: 'command', value: 'rm -rf /' },
            ]),
            step([{ name: 'ttl', value: '24h' }]),
            step([{ name: 'ip', value: ip }], 'release-all-hosts'),
          ],
        }),
      );
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/next-steps`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const steps = (res.body.output as { steps: Step[] }).steps;
      assert.equal(steps.length, 4, 'the playbook outside the menu is dropped');
      assert.deepEqual(
        steps.map((s) => s.startable),
        [true, false, false, false],
      );
      assert.match(steps[1]?.refused_reason ?? '', /"8\.8\.8\.8" is not an observable on this case/);
      assert.match(steps[2]?.refused_reason ?? '', /has no input "command"/);
      assert.match(steps[3]?.refused_reason ?? '', /required input "ip"/);
      const injection = res.body.injection as Answer['injection'];
      assert.ok(injection.suspected);
      assert.ok(injection.signals.some((s) => s.pattern === 'playbook outside the menu (dropped)' && /release-all-hosts/.test(s.excerpt)));
      assert.ok((await w.runtime.cases.getCase(caseId)).tags.includes('ai:injection-suspected'));
    });

    test('secrets in comments never reach the model or the stored prompt', async () => {
      await w.runtime.cases.addComment(caseId, {
        body: `vt key is ${VT_SECRET}; token ghp_abcdefghijklmnopqrstuvwxyz0123456789 and password: hunter2hunter2; llm ${w.sim.url}`,
      });
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 200);
      const sent = JSON.stringify(w.sim.completions.at(-1)?.messages);
      const stored = JSON.stringify((await w.call('GET', `/api/v1/ai/interactions/${res.body.interaction_id}`, await w.token('admin'))).body);
      for (const text of [sent, stored]) {
        assert.ok(text.includes('vt key is [secret]'), 'the known secret value is scrubbed');
        for (const secret of [VT_SECRET, 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'hunter2hunter2', w.sim.completions.length > 0 ? 'sk-lab-riposte' : 'x'])
          assert.equal(text.includes(secret), false, `${secret} leaked`);
      }
    });

    test('a TLP:RED indicator is withheld and counted; a TLP:GREEN one is sent', async () => {
      const other = freshIp();
      const id = await w.alert({ title: `Outbound to ${other}`, severity: 'medium', observables: [{ type: 'ipv4', value: other }] });
      await addIntel(w.runtime, [ipIndicator(other, 'RED-ONLY: seen in the partner incident of last week')], 'red');
      await addIntel(w.runtime, [ipIndicator(other, 'GREEN: listed by the community feed')], 'green');
      const res = await w.call('POST', `/api/v1/cases/${id}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.withheld, { tlp_red: 1 });
      const sent = JSON.stringify(w.sim.completions.at(-1)?.messages);
      assert.equal(sent.includes('RED-ONLY'), false);
      assert.ok(sent.includes('GREEN: listed by the community feed'));
    });

    test('a TLP:RED case is refused, and the refusal is recorded', async () => {
      const red = await w.alert({ title: 'Sensitive', severity: 'low', observables: [{ type: 'ipv4', value: freshIp() }] });
      await w.runtime.cases.updateCase(red, { tlp: 'red' });
      const before = w.sim.completions.length;
      const res = await w.call('POST', `/api/v1/cases/${red}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'ai.tlp_red_refused');
      assert.equal(w.sim.completions.length, before, 'nothing was sent');
      const [refused] = await w.runtime.store.ai.interactionsOfCase(red);
      assert.equal(refused?.status, 'refused');
    });

    test('bad model output gets one repair round with the validation error, then ai.bad_model_output', async () => {
      w.sim.queueContent('Sure! Here is the summary you asked for.');
      const repaired = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('analyst'), {});
      assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
      const repair = w.sim.completions.at(-1)?.messages.at(-1)?.content ?? '';
      assert.match(repair, /not accepted: the answer is not JSON/);
      w.sim.queueContent('{"summary": 42}', '[]');
      const failed = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('analyst'), {});
      assert.equal(failed.status, 502);
      assert.equal(failed.body.code, 'ai.bad_model_output');
      const [last] = await w.runtime.store.ai.interactionsOfCase(caseId, 1);
      assert.equal(last?.status, 'error');
    });

    test('an endpoint that keeps failing is ai.endpoint_failed', async () => {
      w.sim.failNext({ kind: 'status', status: 500 }, 3);
      const res = await w.call('POST', `/api/v1/cases/${caseId}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 502);
      assert.equal(res.body.code, 'ai.endpoint_failed');
      assert.match(String(res.body.detail), /HTTP 500/);
      const timeline = await w.runtime.cases.timeline(caseId, { limit: 500 });
      assert.ok(timeline.items.some((e) => e.kind === 'ai.interaction' && /failed: ai\.endpoint_failed$/.test(e.summary)));
    });

    test('a playbook draft validates, is stored as a draft, and is never written to the playbooks folder', async () => {
      const description = 'Enrich an IP address with VirusTotal and AbuseIPDB';
      assert.equal((await w.call('POST', '/api/v1/ai/playbook-drafts', await w.token('analyst'), { description })).status, 403);
      const res = await w.call('POST', '/api/v1/ai/playbook-drafts', await w.token('responder'), { description });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const draft = res.body.draft as { id: string; valid: boolean; yaml: string; status: string; issues: unknown[] };
      assert.equal(draft.valid, true, JSON.stringify(draft.issues));
      assert.equal(draft.status, 'draft');
      assert.match(draft.yaml, /action: virustotal\.ip_report/);
      assert.equal(w.runtime.validatePlaybook(draft.yaml).issues.length, 0);
      assert.deepEqual(readdirSync(w.playbooksDir), ['block-ip-manually.yml']);
      const list = await w.call('GET', '/api/v1/ai/playbook-drafts', await w.token('viewer'));
      const listed = (list.body.drafts as Array<{ id: string; yaml?: string }>).find((d) => d.id === draft.id);
      assert.ok(listed && listed.yaml === undefined);
      const one = await w.call('GET', `/api/v1/ai/playbook-drafts/${draft.id}`, await w.token('viewer'));
      assert.equal((one.body.draft as { yaml: string }).yaml, draft.yaml);
    });

    test('a draft that fails validation gets one repair round with the issues, then is kept as invalid', async () => {
      const broken = JSON.stringify({ title: 'x', yaml: 'id: broken\nversion: 1\nsteps:\n  - id: a\n    action: nosuch.action\n', notes: [] });
      w.sim.queueContent(broken, broken);
      const res = await w.call('POST', '/api/v1/ai/playbook-drafts', await w.token('admin'), { description: 'block things' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const draft = res.body.draft as { valid: boolean; issues: Array<{ message: string }> };
      assert.equal(draft.valid, false);
      assert.ok(draft.issues.some((i) => /nosuch\.action/.test(i.message)));
      assert.match(w.sim.completions.at(-1)?.messages.at(-1)?.content ?? '', /does not pass playbook validation/);
    });

    test('AI tokens and latency are Prometheus metrics', async () => {
      const res = await fetch(`${w.server.url}/metrics`, { headers: { authorization: `Bearer ${await w.token('admin')}` } });
      const text = await res.text();
      assert.match(text, /riposte_ai_tokens_total\{[^}]*kind="summary"[^}]*direction="prompt"[^}]*\} [1-9]/);
      assert.match(text, /riposte_ai_request_duration_seconds_count\{[^}]*kind="summary"[^}]*status="ok"/);
    });
  });

  describe(`AI assistance reads verdicts from linked runs (${backend.backend})`, () => {
    let w: AiWorld;
    before(async () => {
      w = await openAiWorld(backend);
    });
    after(async () => {
      await w?.close();
    });

    test('a verdict a playbook reached but did not write onto the observable still reaches the summary', async () => {
      await w.runtime.engine.start();
      const other = freshIp();
      const otherCase = await w.alert({ title: `Scan from ${other}`, severity: 'medium', observables: [{ type: 'ipv4', value: other }] });
      const { playbook } = parsePlaybookYaml(
        `id: verdict-only\nversion: 1\ntitle: Verdict without write-back\ninputs: { ip: { type: ip } }\nsteps:\n  - id: verdict\n    action: core.transform\n    with: { value: { observable: "{{ inputs.ip }}", verdict: malicious, confidence: 87, reasons: ["2 of 3 sources call it malicious"] } }\n`,
      );
      assert.ok(playbook);
      const runId = await w.runtime.engine.startRun(playbook as Playbook, { ip: other }, { startedBy: 'test', caseId: otherCase });
      await w.runtime.cases.linkRun(otherCase, runId);
      assert.equal((await w.runtime.engine.waitForRun(runId, 20_000)).status, 'succeeded');
      const res = await w.call('POST', `/api/v1/cases/${otherCase}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(String((res.body.output as { summary: string }).summary), new RegExp(`${other.replace(/\./g, '\\.')} \\(malicious, confidence 87\\)`));
    });
  });

  describe(`AI assistance budgets and TLP:RED allowance (${backend.backend})`, () => {
    let w: AiWorld;
    before(async () => {
      w = await openAiWorld(backend, { config: { 'ai.allow_tlp_red': true, 'ai.budget.case_tokens': 2000, 'ai.max_output_tokens': 1000 } });
    });
    after(async () => {
      await w?.close();
    });

    test('an endpoint trusted with TLP:RED answers for a TLP:RED case and sees TLP:RED intel', async () => {
      const ip = freshIp();
      const id = await w.alert({ title: 'Red case', severity: 'high', observables: [{ type: 'ipv4', value: ip }] });
      await w.runtime.cases.updateCase(id, { tlp: 'red' });
      await addIntel(w.runtime, [ipIndicator(ip, 'RED-ONLY detail')], 'red');
      const res = await w.call('POST', `/api/v1/cases/${id}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.withheld, { tlp_red: 0 });
      assert.ok(JSON.stringify(w.sim.completions.at(-1)?.messages).includes('RED-ONLY detail'));
    });

    test("a case's token budget is counted from stored interactions and refuses the request that would exceed it", async () => {
      const id = await w.alert({ title: 'Budget', severity: 'low', observables: [{ type: 'ipv4', value: freshIp() }] });
      const first = await w.call('POST', `/api/v1/cases/${id}/ai/summary`, await w.token('analyst'), {});
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const before = w.sim.completions.length;
      const second = await w.call('POST', `/api/v1/cases/${id}/ai/summary`, await w.token('analyst'), {});
      assert.equal(second.status, 429);
      assert.equal(second.body.code, 'ai.budget_exceeded');
      assert.equal((second.body.details as { scope: string }).scope, 'case');
      assert.equal(w.sim.completions.length, before, 'nothing was sent');
    });
  });

  describe(`AI assistance daily budget (${backend.backend})`, () => {
    let w: AiWorld;
    before(async () => {
      w = await openAiWorld(backend, { config: { 'ai.budget.daily_tokens': 2200, 'ai.max_output_tokens': 1000 } });
    });
    after(async () => {
      await w?.close();
    });

    test('the daily budget spans every case', async () => {
      const first = await w.alert({ title: 'One', severity: 'low', observables: [{ type: 'ipv4', value: freshIp() }] });
      const second = await w.alert({ title: 'Two', severity: 'low', observables: [{ type: 'ipv4', value: freshIp() }] });
      assert.equal((await w.call('POST', `/api/v1/cases/${first}/ai/summary`, await w.token('analyst'), {})).status, 200);
      const refused = await w.call('POST', `/api/v1/cases/${second}/ai/summary`, await w.token('analyst'), {});
      assert.equal(refused.status, 429);
      assert.equal((refused.body.details as { scope: string }).scope, 'daily');
      const status = await w.call('GET', '/api/v1/ai/status', await w.token('viewer'));
      assert.equal((status.body.usage_today as { requests: number }).requests, 1);
    });
  });

  describe(`AI assistance disabled (${backend.backend})`, () => {
    let w: AiWorld;
    before(async () => {
      w = await openAiWorld(backend, { config: { 'ai.enabled': false } });
    });
    after(async () => {
      await w?.close();
    });

    test('status answers enabled: false and the features answer ai.disabled (409)', async () => {
      const status = await w.call('GET', '/api/v1/ai/status', await w.token('viewer'));
      assert.equal(status.status, 200);
      assert.equal(status.body.enabled, false);
      assert.equal(status.body.endpoint, null);
      const id = await w.alert({ title: 'x', severity: 'low', observables: [{ type: 'ipv4', value: freshIp() }] });
      const res = await w.call('POST', `/api/v1/cases/${id}/ai/summary`, await w.token('analyst'), {});
      assert.equal(res.status, 409);
      assert.equal(res.body.code, 'ai.disabled');
      assert.equal(w.sim.requests.length, 0);
    });
  });
}
