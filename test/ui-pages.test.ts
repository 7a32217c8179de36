import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissing, newPage, openUi, signInAs, uiBackend, waitUntil } from './ui-browser.ts';
import { blocked, PHISH_FIXTURE, type ScenarioCase, seedEmailCase, seedScenario, type UiServer } from './ui-harness.ts';

/**
 * The pages added after the first UI: live updates over the stream (run view, approvals inbox), containment
 * with rollback, the playbook editor (inline issues, graph preview, dry run), integration health checks and
 * write-only secrets, the email case view, and threat intel (ATT&CK coverage grid, TAXII indicators).
 */
const backend = uiBackend();

describe('web UI: live updates, containment, playbook editor, integrations, email, intel', { skip: chromiumMissing || !backend }, () => {
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

  test('the run view follows the stream: a second approval elsewhere finishes the run on screen', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'carol', `/runs/${scenario.runId}`);
    await page.locator('[data-testid=run-status][data-status=waiting]').waitFor();
    await page.locator('[data-testid=live-status][data-live=on]').waitFor();
    // Carol approves through the API (as if from Slack); the open page hears it from the stream.
    const detail = await ui.runtime.guardrails.get(scenario.approvalId);
    await ui.runtime.guardrails.decide(
      scenario.approvalId,
      { id: 'carol', roles: ['approver'], name: 'carol' },
      { decision: 'approve', arguments_hash: detail.request?.arguments_hash ?? '' },
    );
    await page.locator('[data-testid=run-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('node-block').getAttribute('data-status'), 'completed');
    assert.ok(blocked.includes(scenario.ip));
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('the approvals inbox shows a new approval without a reload', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'bob', '/approvals');
    await page.locator('[data-testid=live-status][data-live=on]').waitFor();
    const ip = '45.155.205.233';
    const playbook = ui.runtime.playbooks.get('contain-ip');
    assert.ok(playbook);
    const runId = await ui.runtime.engine.startRun(playbook, { ip }, { startedBy: 'alice' });
    // The inbox polls every 30 s while the stream is up: a card within 20 s came from the stream.
    const card = page.getByTestId('approval').filter({ hasText: ip });
    await card.waitFor({ timeout: 20_000 });
    assert.match(await card.getByTestId('quorum').innerText(), /0 of 2 approvals/);
    // Carol signs elsewhere (short of quorum): the run does not move, the approval does, and so does the card.
    const item = (await ui.runtime.guardrails.inbox()).find((a) => a.kind === 'policy' && a.run_id === runId);
    assert.ok(item);
    const detail = await ui.runtime.guardrails.get(item.id);
    await ui.runtime.guardrails.decide(
      item.id,
      { id: 'carol', roles: ['approver'], name: 'carol' },
      { decision: 'approve', arguments_hash: detail.request?.arguments_hash ?? '' },
    );
    await waitUntil(async () => /1 of 2 approvals/.test(await card.getByTestId('quorum').innerText()), 'the quorum to show 1 of 2', 20_000);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('the case queue announces new cases from the stream and shows them on request', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice', '/cases');
    await page.getByTestId('case-row').first().waitFor();
    // The stream may still be connecting: a case created before it listens is (rightly) not announced.
    for (let i = 0; i < 10 && (await page.getByTestId('new-cases').count()) === 0; i++) {
      await ui.runtime.cases.createCase({ title: 'Impossible travel for j.doe', severity: 'medium' });
      await page
        .getByTestId('new-cases')
        .waitFor({ timeout: 2000 })
        .catch(() => {});
    }
    assert.match(await page.getByTestId('new-cases').innerText(), /^\d+ new cases? — show$/);
    await page.getByTestId('new-cases').click();
    await page.getByTestId('case-row').filter({ hasText: 'Impossible travel for j.doe' }).first().waitFor();
    assert.equal(await page.getByTestId('new-cases').count(), 0);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('containment: the block is listed with its expiry; a responder rolls it back with a reason; an analyst cannot', async () => {
    await waitUntil(async () => (await ui.runtime.guardrails.containment.list({ status: 'active' })).length > 0, 'a recorded containment action');
    await ui.runtime.auth.createUser({ name: 'rita', roles: ['responder'], password: 'correct horse battery staple' });
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'rita', '/containment');
    const row = page.getByTestId('action-row').filter({ hasText: scenario.ip });
    await row.waitFor();
    assert.match(await row.innerText(), /lab\.block_ip/);
    assert.match(await row.getByTestId('action-expiry').innerText(), /expires in (23h|1d)/);
    assert.equal(await row.getByTestId('action-case').count(), 1, 'linked to its case');
    await row.getByRole('button', { name: 'Roll back…' }).click();
    const form = page.getByTestId('rollback-form');
    assert.equal(await form.getByRole('button', { name: 'Roll back' }).isDisabled(), true, 'a reason is required');
    await form.getByRole('textbox').fill('False positive: partner VPN egress');
    await form.getByRole('button', { name: 'Roll back' }).click();
    // The inverse passes policy like any write: here the policy holds it for approvers.
    assert.match(await page.getByTestId('containment-notice').innerText(), /Rollback (waits for approval|rolled back|rolling back)/);
    const action = (await ui.runtime.guardrails.containment.list({})).find(
      (a) => a.target === scenario.ip || JSON.stringify(a.arguments).includes(scenario.ip),
    );
    assert.ok(action?.rollback, 'the rollback started');
    assert.equal(action?.rollback?.reason, 'False positive: partner VPN egress');
    await context.close();

    const analyst = await newPage(browser, ui.url);
    await signInAs(analyst.page, 'alice', '/containment?');
    await analyst.page.getByTestId('containment').waitFor();
    await analyst.page.getByRole('tab', { name: 'All' }).click();
    await analyst.page.getByTestId('action-row').first().waitFor();
    assert.equal(await analyst.page.getByRole('button', { name: 'Roll back…' }).count(), 0, 'analysts hold no actions:rollback');
    assert.deepEqual([...watch.errors, ...analyst.watch.errors], []);
    await analyst.context.close();
  });

  test('playbook editor: issues at their line, a graph preview, and a dry run', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice', '/playbooks');
    await page.getByRole('link', { name: 'contain-ip' }).click();
    await page.getByTestId('playbook-editor').waitFor();
    await waitUntil(async () => (await page.getByTestId('validation-state').innerText()) === 'valid', 'the playbook to validate');
    await page.getByTestId('playbook-graph').getByTestId('node-verdict').waitFor();
    const yaml = await page.getByTestId('yaml').inputValue();
    const edited = yaml.replace('action: core.log', 'action: core.no_such_log');
    const line = edited.split('\n').findIndex((l) => l.includes('core.no_such_log')) + 1;
    await page.getByTestId('yaml').fill(edited);
    await page.getByTestId('issue').first().waitFor();
    const issue = await page.getByTestId('issue').first().innerText();
    assert.match(issue, new RegExp(`^${line}:\\d+ .*core\\.no_such_log`), issue);
    assert.match(await page.getByTestId('validation-state').innerText(), /1 issue/);
    assert.equal(await page.locator('.gutter-line.has-issue').innerText(), String(line));
    // The preview still draws the steps while the text has issues.
    await page.getByTestId('playbook-graph').getByTestId('node-record').waitFor();
    await page.getByTestId('sample-input').fill('{"ip": "198.51.100.77"}');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByTestId('run-view').waitFor();
    assert.match(await page.getByTestId('run-view').innerText(), /dry run/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('integrations: test connection answers from the simulator; secrets are set, never shown', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'admin', '/integrations');
    const row = page.getByTestId('integration-row').filter({ hasText: 'abuseipdb' }).first();
    await row.waitFor();
    await row.getByTestId('test-connection').click();
    await row.locator('[data-testid=test-result][data-ok=true]').waitFor({ timeout: 20_000 });
    assert.match(await row.getByTestId('test-result').innerText(), /Connected \(\d+ ms\)/);
    const secretName = (await row.locator('[data-testid^=set-secret-]').first().getAttribute('data-testid'))?.replace('set-secret-', '');
    assert.ok(secretName);
    await row.getByTestId(`set-secret-${secretName}`).click();
    assert.equal(await row.getByTestId('secret-value').getAttribute('type'), 'password');
    await row.getByTestId('secret-value').fill('a-new-secret-value-123');
    await row.getByRole('button', { name: 'Save' }).click();
    await row.getByTestId(`set-secret-${secretName}`).waitFor();
    assert.ok(!(await page.content()).includes('a-new-secret-value-123'), 'the value is not shown after saving');
    await context.close();

    const viewer = await newPage(browser, ui.url);
    await signInAs(viewer.page, 'vic', '/integrations');
    await viewer.page.getByTestId('integration-row').first().waitFor();
    assert.equal(await viewer.page.locator('[data-testid^=set-secret-]').count(), 0, 'viewers cannot write secrets');
    assert.deepEqual([...watch.errors, ...viewer.watch.errors], []);
    await viewer.context.close();
  });

  test('email case: headers, hops, authentication, defanged links and attachments with hashes', async () => {
    const email = await seedEmailCase(ui, PHISH_FIXTURE, {
      headers: [
        { name: 'From', value: '"Voicemail Service" <voicemail@vm-notify.net>' },
        { name: 'Subject', value: 'You have a new voicemail (0:42)' },
      ],
      text: 'You received a voicemail. Open the attachment to listen.',
    });
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice', `/cases/${email.caseNumber}`);
    const view = page.getByTestId('email-view');
    await view.waitFor();
    assert.equal(await view.getByTestId('email-subject').innerText(), 'You have a new voicemail (0:42)');
    assert.match(await view.getByTestId('email-from').innerText(), /voicemail@vm-notify\[\.\]net/);
    assert.match(await view.getByTestId('auth-spf').innerText(), /SPF none/);
    assert.ok((await view.getByTestId('email-hop').count()) >= 2, 'both Received hops');
    assert.match(await view.getByTestId('email-hops').innerText(), /203\.0\.113\.25/);
    const links = await view.getByTestId('email-links').innerText();
    assert.match(links, /hxxps:\/\/voicemail-examplecorp\[\.\]top\/collect\.php/);
    assert.equal(await view.locator('a[href*="voicemail-examplecorp"]').count(), 0, 'no live link to the lure');
    const attachment = view.getByTestId('email-attachment').first();
    assert.match(await attachment.innerText(), /Voicemail_0042\.htm/);
    assert.match(await attachment.innerText(), /[0-9a-f]{64}/);
    assert.match(await view.getByTestId('email-body').innerText(), /Open the attachment to listen/);
    await view.getByText(/^Headers/).click();
    assert.match(await view.getByTestId('email-headers').innerText(), /vm-notify\.net/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('threat intel: the ATT&CK grid shows techniques seen on cases', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'vic', '/intel');
    await page.getByTestId('attack-coverage').waitFor();
    assert.ok((await page.getByTestId('tactic').count()) >= 10, 'one column per tactic');
    await page.getByTestId('technique-cell').filter({ hasText: 'T1090.003' }).first().waitFor();
    await page.getByTestId('taxii-collections').waitFor();
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
