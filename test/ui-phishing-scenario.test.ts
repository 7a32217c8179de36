import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissing, newPage, openUi, signInAs, uiBackend } from './ui-browser.ts';
import { approveThroughApi, type PhishingWalkCase, pendingApprovalOf, seedPhishingScenario, type UiServer } from './ui-harness.ts';

/**
 * The demo's phishing scenario as an approver lives it in the UI: two employees reported the voicemail lure
 * that sits in six mailboxes, both reports are on one case, and the phishing-triage run holds blocking the
 * campaign, then purging it, for two approvers each. Bob signs through the API; Carol signs in, opens the case
 * from the queue, reads why the mail is phishing (auth results, the lookalike link, the credential page) —
 * never rendered, only shown as text — approves both as the second approver, and watches the run finish
 * and the purge land on the case.
 */
const backend = uiBackend();

describe('scenario: reported phishing, second approver in the UI', { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;
  let walk: PhishingWalkCase;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend, { mail: true }));
    walk = await seedPhishingScenario(ui);
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  test('open the case, read the verdict reasons, approve block and purge as the second approver, watch the run finish', async () => {
    const mail = ui.mail;
    assert.ok(mail);
    const inInbox = () => mail.tenant.copies(mail.campaignMessageId).filter((c) => c.folder === 'inbox').length;
    assert.equal(inInbox(), 6);

    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol');
    assert.equal(await page.getByTestId('nav-approvals').locator('.badge').innerText(), '1');
    await page.getByTestId('case-row').filter({ hasText: 'Reported phishing: You have a new voicemail' }).getByRole('link').click();
    await page.getByTestId('case-view').waitFor();

    // Why it is phishing: the analysis as text — auth results, the lookalike link, the credential page.
    const email = page.getByTestId('email-view');
    await email.waitFor();
    assert.equal(await email.getByTestId('email-subject').innerText(), 'You have a new voicemail (0:42)');
    assert.match(await email.getByTestId('email-from').innerText(), /voicemail@vm-notify\[\.\]net/, 'the sender, defanged');
    for (const method of ['spf', 'dkim', 'dmarc']) assert.match(await email.getByTestId(`auth-${method}`).innerText(), new RegExp(`${method} none`, 'i'));
    const verdict = await email.locator('.reasons').innerText();
    assert.match(verdict, /a link goes to voicemail-examplecorp\[\.\]top, imitating examplecorp\.com/);
    assert.match(verdict, /Voicemail_0042\.htm is a page asking for a password/);
    assert.match(await email.getByTestId('email-links').innerText(), /hxxps:\/\/voicemail-examplecorp\[\.\]top\/collect\.php/);
    assert.equal(await email.getByTestId('email-hop').count(), 2);
    // The lure's HTML page is never rendered: no form, password field, frame or link from it exists.
    assert.equal(await page.locator('[data-testid=case-view] form[action*="voicemail-examplecorp"]').count(), 0);
    assert.equal(await page.locator('[data-testid=email-panel] input[type=password], [data-testid=email-panel] iframe').count(), 0);
    assert.equal(await page.locator('a[href*="voicemail-examplecorp"]').count(), 0);
    // Both reporters are on the one case.
    await page.getByTestId('comment').filter({ hasText: 'Reported again by raj.patel@examplecorp.com' }).waitFor();

    // Blocking the sender and the URLs: bob has signed, Carol is the second of two.
    await page.getByTestId('nav-approvals').click();
    const block = page.getByTestId('approval').filter({ hasText: 'phishing.block_indicators' });
    await block.waitFor();
    assert.match(await block.getByTestId('quorum').innerText(), /1 of 2 approvals/);
    assert.match(await block.getByTestId('policy-reasons').innerText(), /campaign-containment: blocking or purging a campaign needs two people/);
    assert.match(await block.innerText(), /voicemail@vm-notify\.net/);
    assert.match(await block.innerText(), /bob approved: “Lookalike voicemail lure: block it”/);
    await block.getByLabel('Decision comment').fill('Confirmed: credential lure');
    await block.getByRole('button', { name: 'Approve' }).click();
    assert.match(await block.getByTestId('decision-result').innerText(), /Approved: the action is released/);

    // The run finds every copy and parks on the purge; bob signs it through the API, the inbox shows it live.
    const purgeHeld = await pendingApprovalOf(ui, walk.runId);
    assert.equal(purgeHeld.action, 'msgraph_mail.purge_messages');
    await approveThroughApi(ui, 'bob', purgeHeld.id, 'Purge all six copies');
    const purge = page.getByTestId('approval').filter({ hasText: 'msgraph_mail.purge_messages' });
    await purge.getByText('bob approved: “Purge all six copies”').waitFor();
    assert.match(await purge.getByTestId('quorum').innerText(), /1 of 2 approvals/);
    assert.equal(inInbox(), 6, 'nothing is purged before the second approval');
    await purge.getByRole('button', { name: 'Approve' }).click();
    assert.match(await purge.getByTestId('decision-result').innerText(), /Approved: the action is released/);

    await page.goto(`/runs/${walk.runId}`);
    await page.locator('[data-testid=run-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    for (const step of ['block', 'search', 'purge', 'record_purge'])
      assert.equal(await page.getByTestId(`node-${step}`).getAttribute('data-status'), 'completed', `step ${step}`);
    assert.equal(inInbox(), 0, 'every copy left the inboxes');

    // The purge is on the case.
    await page.goto(`/cases/${walk.caseNumber}`);
    await page.getByTestId('comment').filter({ hasText: 'Campaign purge' }).waitFor();
    assert.match(
      await page.getByTestId('comment').filter({ hasText: 'Campaign purge' }).innerText(),
      /Campaign purge: searched \d+ mailbox\(es\), found 6 cop\(ies\), purged 6/,
    );
    for (const id of [walk.approvalId, purgeHeld.id]) {
      const approval = await ui.runtime.guardrails.get(id);
      assert.deepEqual(
        approval.request?.decisions.map((d) => d.approver),
        ['bob', 'carol'],
      );
    }
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
