import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RUN_KEY_RULE } from '../src/cli/demo/hunt-scenario.ts';
import { chromiumMissing, newPage, openUi, signInAs, uiBackend, waitUntil } from './ui-browser.ts';
import { type HuntWalk, seedHuntScenario, type UiServer } from './ui-harness.ts';

/**
 * The demo's hunt as an approver lives it in the UI: the Run-key Sigma rule (T1547.001) was hunted through
 * Fleet over the demo's 200 endpoints, the hits are on one case with evidence per host, and the
 * registry-hunt playbook has cleaned the canary and the 10% wave; the wave holding the critical server waits
 * for two approvers, one of whom (bob) has signed through the API. Carol opens the hunt's case, reads why
 * each host is a hit, approves the critical wave as the second approver, and watches every wave finish,
 * verified by re-query, on the hunts page.
 */
const backend = uiBackend();

describe('scenario: hunt a Run-key implant across the fleet, second approver in the UI', { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;
  let walk: HuntWalk;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend, { fleet: true }));
    walk = await seedHuntScenario(ui);
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  /** Plants the first hunt's values back on its hosts, hunts again, and starts remediation through the API. */
  async function huntAgain(): Promise<{ id: string }> {
    const fleet = ui.fleet?.fleet;
    assert.ok(fleet);
    for (const s of ui.runtime.hunts.runs.get(walk.huntId).sightings) {
      const endpoint = fleet.endpoint(s.hostname);
      assert.ok(endpoint, s.hostname);
      fleet.setValue(endpoint, s.key, { name: s.value, type: s.type as 'REG_SZ', data: s.data });
    }
    const alice = { kind: 'user' as const, id: 'alice', name: 'alice' };
    const hunt = await ui.runtime.hunts.run({ sigma: RUN_KEY_RULE, edr: 'fleet', expires_in_ms: 0 }, alice);
    ui.runtime.hunts.remediate(hunt.id, alice);
    return hunt;
  }

  test('open the hunt case, read why the hosts are hits, approve the critical wave as the second approver, watch every wave finish', async () => {
    const hunt = ui.runtime.hunts.runs.get(walk.huntId);
    const hitHosts = [...new Set(hunt.sightings.map((s) => s.hostname))].sort();
    assert.ok(hitHosts.length >= 3, `the demo fleet has several infected hosts online: ${hitHosts.join(', ')}`);
    assert.equal(walk.criticalHosts.length, 1, 'one critical server among the hits');
    const critical = walk.criticalHosts[0] as string;

    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol');
    await page.getByTestId('case-row').filter({ hasText: 'Hunt: Run key value' }).getByRole('link').click();
    await page.getByTestId('case-view').waitFor();
    assert.match(await page.getByTestId('techniques').innerText(), /T1547\.001/);
    // Evidence per host went on the case before anything changed.
    for (const host of hitHosts) await page.locator('.evidence-files').getByText(`hunt-${host}.json`).waitFor();

    // The hunt's own page: fleet progress and, per host, the value that makes it a hit.
    await page.getByTestId('case-hunt').click();
    await page.getByTestId('hunt-view').waitFor();
    assert.match(await page.getByTestId('hunt-techniques').innerText(), /T1547\.001/);
    const progress = await page.getByTestId('hunt-progress').innerText();
    assert.match(progress, new RegExp(`fleet\\s+\\(fleetdm\\)\\s+${hunt.progress.targeted}\\s+${hunt.progress.answered}\\s+${hitHosts.length} host\\(s\\)`));
    // The demo fleet has offline endpoints: the hunt says they were not checked.
    assert.ok(hunt.progress.pending > 0);
    assert.match(await page.getByTestId('hunt-expired').innerText(), new RegExp(`^${hunt.progress.pending} endpoint\\(s\\) did not answer`));
    for (const host of hitHosts) {
      const row = page.locator(`[data-testid=hunt-hit][data-host="${host}"]`).first();
      const text = await row.innerText();
      assert.match(text, /\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run/i, `${host}: the Run key`);
      assert.match(text, /\\AppData\\Roaming\\/i, `${host}: launching from AppData\\Roaming`);
    }
    // Canary and 10% are done and verified; the critical server's wave waits on the approvals inbox.
    await page.locator('[data-testid=wave][data-status=verified]').nth(1).waitFor();
    const waiting = page.getByTestId('wave').filter({ hasText: critical });
    assert.match(await waiting.getByTestId('wave-approval').innerText(), /1 of 2 approver\(s\) \(bob\)/);
    assert.match(await waiting.getByTestId('wave-approval').innerText(), new RegExp(`${critical} is a critical asset`));
    assert.equal(await waiting.getAttribute('data-status'), 'waiting_approval');
    assert.ok(ui.fleet?.fleet.endpoints.find((e) => e.hostname === critical)?.implants.length, 'the critical server is untouched while it waits');

    await waiting.getByTestId('wave-approval-link').click();
    const card = page.getByTestId('approval').filter({ hasText: 'hunt.remediate_wave' });
    await card.waitFor();
    assert.match(await card.getByTestId('quorum').innerText(), /1 of 2 approvals/);
    assert.match(await card.getByTestId('policy-reasons').innerText(), /critical-hunt-wave: .* is a critical asset/);
    assert.match(await card.innerText(), /bob approved: “DC clean-up agreed with the identity team”/);
    await card.getByLabel('Decision comment').fill('Change window agreed with the identity team');
    await card.getByRole('button', { name: 'Approve' }).click();
    assert.match(await card.getByTestId('decision-result').innerText(), /Approved: the action is released/);

    // Back on the hunts page the last wave runs and everything ends verified by re-query.
    await page.getByTestId('nav-hunts').click();
    await page.getByTestId('hunt-row').getByRole('link').click();
    await page.locator('[data-testid=remediation-status][data-status=completed]').waitFor({ timeout: 30_000 });
    const waves = page.getByTestId('wave');
    assert.equal(await waves.count(), hunt.remediation.waves.length || 3);
    await waitUntil(async () => (await page.locator('[data-testid=wave][data-status=verified]').count()) === (await waves.count()), 'every wave verified');
    assert.equal(await page.locator('[data-testid=wave-host]:not([data-status=verified])').count(), 0, 'every host clean on re-query');
    assert.match(await waves.last().getByTestId('wave-verification').innerText(), /re-query: (\d+) of \1 host\(s\) clean/);
    assert.match(await page.getByTestId('remediation-message').innerText(), new RegExp(`Remediated and verified ${hitHosts.length} host\\(s\\)`));

    await page.goto(`/runs/${walk.runId}`);
    await page.locator('[data-testid=run-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    for (const host of hitHosts) assert.equal(ui.fleet?.fleet.endpoints.find((e) => e.hostname === host)?.implants.length, 0, `${host} is clean`);
    const approval = await ui.runtime.guardrails.get(walk.approvalId);
    assert.deepEqual(
      approval.request?.decisions.map((d) => d.approver),
      ['bob', 'carol'],
    );
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('remediation started through the API holds the critical wave on the hunts page: an approver approves it there, a viewer cannot', async () => {
    // The implant comes back on the same hosts; a second hunt finds it and remediation starts without a playbook.
    const fleet = ui.fleet?.fleet;
    assert.ok(fleet);
    const again = await huntAgain();
    const critical = walk.criticalHosts[0] as string;

    const viewer = await newPage(browser, ui.url);
    await signInAs(viewer.page, 'vic', `/hunts/${again.id}`);
    const held = viewer.page.locator('[data-testid=wave][data-status=waiting_approval]');
    await held.waitFor();
    assert.match(await held.innerText(), new RegExp(critical));
    assert.match(await held.getByTestId('wave-approval').innerText(), /0 of 1 approver\(s\)/);
    assert.equal(await viewer.page.getByRole('button', { name: 'Approve wave' }).count(), 0, 'a viewer has no approve button');
    await viewer.context.close();

    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol', `/hunts/${again.id}`);
    await page.locator('[data-testid=wave][data-status=waiting_approval]').getByRole('button', { name: 'Approve wave' }).click();
    await page.locator('[data-testid=remediation-status][data-status=completed]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid=wave-host]:not([data-status=verified])').count(), 0, 'every host clean on re-query');
    assert.equal(fleet.infected().filter((e) => e.online).length, 0, 'no online host keeps the implant');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('a wave failing on the endpoints halts and is rolled back, and the hunts page says so', async () => {
    const world = ui.fleet;
    assert.ok(world);
    const again = await huntAgain();
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol', `/hunts/${again.id}`);
    const held = page.locator('[data-testid=wave][data-status=waiting_approval]');
    await held.waitFor();
    // The endpoints start refusing most deletions just as the last wave is released.
    world.behaviour.setFailureRate(0.6, 7);
    try {
      await held.getByRole('button', { name: 'Approve wave' }).click();
      await page.locator('[data-testid=remediation-status][data-status=halted]').waitFor({ timeout: 30_000 });
    } finally {
      world.behaviour.setFailureRate(0);
    }
    assert.match(
      await page.getByTestId('remediation-message').innerText(),
      /^Halted: [1-9]\d* of \d+ host\(s\) failed in wave rest \(threshold 20%\); rolled back \d+ change\(s\) with their inverse/,
    );
    const rest = page.locator('[data-testid=wave][data-wave=rest]');
    assert.equal(await rest.getAttribute('data-status'), 'halted');
    assert.match(await rest.getByTestId('wave-verification').innerText(), /re-query: \d+ of \d+ host\(s\) clean, [1-9]\d* failed/);
    const states = await rest.getByTestId('wave-host').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    assert.ok(
      states.every((s) => s === 'failed' || s === 'rolled_back' || s === 'rollback_failed'),
      `every host of the halted wave failed or was rolled back: ${states.join(', ')}`,
    );
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
