import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissing, newPage, openUi, signInAs, uiBackend } from './ui-browser.ts';
import { blocked, type ScenarioCase, seedScenario, type UiServer } from './ui-harness.ts';

/**
 * The suspicious-IP job as an approver lives it in the UI: an alert about a Tor exit became a case, the
 * contain-ip playbook enriched the IP from six sources and policy holds the block for two people, one of
 * whom (bob) has signed. Carol signs in, opens the case from the queue, reads why the IP is malicious,
 * approves the block as the second approver, and watches the run finish.
 */
const backend = uiBackend();

describe('scenario: suspicious IP, second approver in the UI', { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;
  let scenario: ScenarioCase;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend));
    scenario = await seedScenario(ui);
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  test('open the case, read the verdict reasons, approve as the second approver, watch the run finish', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol');
    // The inbox badge says something waits.
    assert.equal(await page.getByTestId('nav-approvals').locator('.badge').innerText(), '1');

    await page.getByTestId('case-row').filter({ hasText: scenario.ip }).getByRole('link').click();
    await page.getByTestId('case-view').waitFor();
    const row = page.getByTestId('observable-row').filter({ hasText: scenario.ip });
    await row.getByTestId('verdict-chip').waitFor();
    assert.match(await row.getByTestId('verdict-chip').innerText(), /malicious · \d+/);
    await row.getByText('why').click();
    const why = await row.getByTestId('verdict-why').innerText();
    for (const source of ['virustotal', 'abuseipdb', 'greynoise', 'otx', 'shodan', 'ipinfo']) assert.match(why, new RegExp(source), `evidence from ${source}`);
    assert.match(why, /abuse confidence 100%/);

    await page.getByTestId('nav-approvals').click();
    const card = page.getByTestId('approval').filter({ hasText: 'lab.block_ip' });
    await card.waitFor();
    assert.match(await card.getByTestId('quorum').innerText(), /1 of 2 approvals/);
    assert.match(
      await card.getByTestId('policy-reasons').innerText(),
      new RegExp(`two-person: blocking ${scenario.ip.replace(/\./g, '\\.')} needs two people`),
    );
    assert.match(await card.innerText(), /"ip": "185\.220\.101\.47"/);
    assert.match(await card.innerText(), /bob approved: “Tor exit, finance host: agreed”/);
    assert.match(await card.getByTestId('expiry').innerText(), /expires in \dh \d+m/);
    assert.equal(await card.getByRole('button', { name: 'Break glass' }).count(), 0, 'break-glass is for admins');
    await card.getByLabel('Decision comment').fill('Confirmed with the finance manager');
    await card.getByRole('button', { name: 'Approve' }).click();
    assert.match(await card.getByTestId('decision-result').innerText(), /Approved: the action is released/);

    await page.goto(`/runs/${scenario.runId}`);
    await page.locator('[data-testid=run-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('node-block').getAttribute('data-status'), 'completed');
    assert.ok(blocked.includes(scenario.ip), 'the firewall block ran');
    const approval = await ui.runtime.guardrails.get(scenario.approvalId);
    assert.deepEqual(
      approval.request?.decisions.map((d) => d.approver),
      ['bob', 'carol'],
    );
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
