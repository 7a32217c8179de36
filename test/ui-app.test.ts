import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissing, newPage, openUi, rowsShown, signInAs, uiBackend } from './ui-browser.ts';
import { type ScenarioCase, seedScenario, type UiServer } from './ui-harness.ts';

/**
 * The web UI in a real browser against a real server: sign-in, the role-aware shell, the case queue with
 * filters, search, keyboard and bulk actions, the case view, the run graph, approvals, audit, dashboard,
 * playbooks and integrations; and how `riposte serve` serves the UI (CSP, SPA fallback, no path traversal).
 * Runs on SQLite (RIPOSTE_UI_BACKEND=postgres for PostgreSQL): the UI talks to the same API either way.
 */
const backend = uiBackend();

describe('web UI', { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;
  let scenario: ScenarioCase;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend));
    scenario = await seedScenario(ui);
    const cases = ui.runtime.cases;
    for (let i = 0; i < 12; i++)
      await cases.createCase({
        title: `Phishing report ${i} from the finance team`,
        severity: i % 3 === 0 ? 'critical' : 'medium',
        tags: i % 2 ? ['phishing'] : ['phishing', 'vip'],
        techniques: ['T1566.001'],
        assignee: i % 4 === 0 ? 'dave' : null,
      });
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  test('serves the UI with a strict CSP, falls back to index.html for UI routes, and refuses traversal', async () => {
    const browserGet = { headers: { accept: 'text/html' } };
    const root = await fetch(`${ui.url}/`, browserGet);
    assert.equal(root.status, 200);
    const csp = root.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await root.text();
    assert.doesNotMatch(html, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
    const deep = await fetch(`${ui.url}/cases/1`, browserGet);
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), html);
    for (const path of ['/..%2f..%2fpackage.json', '/assets/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/nope.js'])
      assert.equal((await fetch(`${ui.url}${path}`, browserGet)).status, 404, path);
    const api = await fetch(`${ui.url}/api/v1/nope`);
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type') ?? '', /problem\+json/);
    const graph = await fetch(`${ui.url}/api/v1/runs/${scenario.runId}/graph`);
    assert.equal(graph.status, 401, 'the graph route needs a session like every API route');
  });

  test('sign-in: a wrong password is refused, a viewer sees no buttons it cannot use', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await page.goto('/cases');
    await page.getByLabel('User name').fill('vic');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Wrong user name or password/);
    await signInAs(page, 'vic');
    const nav = await page.getByRole('navigation', { name: 'Main' }).innerText();
    assert.match(nav, /Cases/);
    assert.doesNotMatch(nav, /Audit/, 'a viewer has no audit:read');
    await page.getByTestId('case-row').first().waitFor();
    await page.getByTestId('case-row').first().getByRole('checkbox').check();
    assert.equal(await page.getByTestId('bulk-bar').count(), 0, 'no bulk actions for a viewer');
    await page.goto(`/cases/${scenario.caseNumber}`);
    await page.getByTestId('case-title').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Assign' }).count(), 0);
    assert.equal(await page.getByLabel('Comment').count(), 0);
    await page.goto('/approvals');
    await page.getByTestId('approval').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'a viewer cannot decide');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('case queue: filters, search, keyboard navigation and bulk assign', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice');
    await page.getByTestId('case-row').first().waitFor();
    assert.equal(await page.getByTestId('case-row').count(), 13);
    await page.getByLabel('Severity').selectOption('critical');
    await rowsShown(page, 4);
    assert.match(page.url(), /severity=critical/);
    await page.getByLabel('Severity').selectOption('');
    await page.getByLabel('Phase').selectOption('post_incident');
    await rowsShown(page, 0);
    await page.getByLabel('Phase').selectOption('detection_analysis');
    await rowsShown(page, 13);
    await page.getByLabel('Phase').selectOption('');
    await page.getByLabel('tag').fill('vip');
    await page.getByLabel('tag').press('Enter');
    await rowsShown(page, 6);
    await page.getByLabel('tag').fill('');
    await page.getByLabel('tag').press('Enter');
    await page.getByPlaceholder(/Search titles/).fill('Tor exit');
    await page.getByPlaceholder(/Search titles/).press('Enter');
    await rowsShown(page, 1);
    assert.match(await page.getByTestId('case-row').innerText(), /185\.220\.101\.47/);
    await page.goto('/cases?technique=T1566.001');
    await rowsShown(page, 12);
    // Keyboard: j j x (select the third), k x (and the second), then bulk-assign both.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('x');
    await page.keyboard.press('k');
    await page.keyboard.press('x');
    await page.getByTestId('bulk-bar').waitFor();
    assert.match(await page.getByTestId('bulk-bar').innerText(), /2 selected/);
    await page.getByLabel('Assign to').fill('erin');
    await page.getByRole('button', { name: 'Assign' }).click();
    await page.getByText('Assigned 2 of 2 case(s).').waitFor();
    const assigned = await ui.runtime.cases.listCases({ assignee: 'erin', limit: 50 });
    assert.equal(assigned.items.length, 2);
    // Enter opens the active row.
    await page.keyboard.press('Enter');
    await page.getByTestId('case-view').waitFor();
    assert.match(page.url(), /\/cases\/\d+$/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('case view: header, observables with verdict and why, timeline, techniques, comments; run graph', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice', `/cases/${scenario.caseNumber}`);
    await page.getByTestId('case-title').waitFor();
    assert.match(await page.getByTestId('case-title').innerText(), /185\.220\.101\.47/);
    assert.equal(await page.locator('.phases [aria-current=step]').innerText(), 'Detection & analysis');
    const row = page.getByTestId('observable-row').filter({ hasText: '185.220.101.47' });
    await row.getByTestId('verdict-chip').waitFor();
    assert.match(await row.getByTestId('verdict-chip').innerText(), /malicious/);
    await row.getByText('why').click();
    const why = await row.getByTestId('verdict-why').innerText();
    assert.match(why, /virustotal/);
    assert.match(why, /abuseipdb/);
    assert.match(await page.getByTestId('timeline').innerText(), /policy\.decision/);
    await page.getByTestId('techniques').getByText('Command and Control').waitFor();
    assert.match(await page.getByTestId('techniques').innerText(), /T1090\.003 Multi-hop Proxy/);
    assert.match(await page.getByTestId('comment').first().innerHTML(), /<strong>proxy logs<\/strong>/);
    await page.getByLabel('Comment').fill('Escalating to **IR**');
    await page.getByRole('button', { name: 'Comment' }).click();
    await page.getByText('Escalating to').waitFor();
    await page.getByRole('button', { name: 'Take it' }).click();
    await page
      .getByTestId('case-assignee')
      .filter({ hasText: /^alice$/ })
      .waitFor();

    await page.getByTestId('linked-run').first().click();
    await page.getByTestId('run-graph').waitFor();
    await page.getByTestId('node-verdict').waitFor();
    assert.equal(await page.getByTestId('node-verdict').getAttribute('data-status'), 'completed');
    assert.equal(await page.getByTestId('node-block').getAttribute('data-status'), 'waiting');
    assert.match(await page.getByTestId('run-waiting').innerText(), /lab\.block_ip \(1 of 2\)/);
    await page.getByTestId('node-virustotal').click();
    assert.match(await page.getByTestId('step-panel').innerText(), /14\/94 engines/);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'an analyst cannot cancel runs');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('break-glass: an admin releases a held block without the quorum, with a reason', async () => {
    const second = await seedScenario(ui, '45.155.205.233');
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'admin', '/approvals');
    const card = page.getByTestId('approval').filter({ hasText: '45.155.205.233' });
    await card.getByRole('button', { name: 'Break glass' }).click();
    await card.getByLabel('Break-glass reason').fill('Active exfiltration, approvers unreachable');
    await card.getByRole('button', { name: 'Release now' }).click();
    assert.match(await card.getByTestId('decision-result').innerText(), /Released by break-glass/);
    const run = await ui.runtime.engine.waitForRun(second.runId, 30_000);
    assert.equal(run.status, 'succeeded');
    const approval = await ui.runtime.guardrails.get(second.approvalId);
    assert.ok(
      approval.request?.decisions.some((d) => d.decision === 'break_glass' && d.approver === 'admin' && JSON.stringify(d).includes('Active exfiltration')),
      'the signed break-glass decision keeps the reason',
    );
    const audit = await ui.runtime.cases.auditList({ order: 'desc', limit: 50 });
    assert.ok(
      audit.items.some((r) => JSON.stringify(r).includes('break-glass')),
      'the break-glass is on the audit chain',
    );
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  test('admin pages: audit chain verified, dashboard, playbooks, integrations with secrets masked', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'admin', '/audit');
    await page.getByTestId('chain-status').waitFor();
    assert.match(await page.getByTestId('chain-status').innerText(), /Chain verified: \d+ records intact/);
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('kpis').waitFor();
    assert.match(await page.getByTestId('kpis').innerText(), /MTTA/);
    await page
      .locator('.legend')
      .getByText(/malicious: \d+/)
      .waitFor();
    await page.getByTestId('nav-playbooks').click();
    await page.getByTestId('playbook-row').first().waitFor();
    assert.match(await page.locator('table').innerText(), /contain-ip/);
    await page.getByTestId('nav-integrations').click();
    await page.getByTestId('integration-row').first().waitFor();
    const text = await page.locator('table').innerText();
    assert.match(text, /•••••• \(set\)/);
    assert.doesNotMatch(text, /riposte-lab-key/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
