import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SEED_IPS } from '../src/lab/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { chromiumMissing, newPage, openUi, signInAs } from '../test/ui-browser.ts';
import { PHISH_FIXTURE, seedEmailCase, seedHuntScenario, seedQueue, seedScenario } from '../test/ui-harness.ts';

/**
 * `npm run screenshots`: regenerates docs/screenshots/*.png from demo-like data — the suspicious-IP case with
 * its verdict and a block waiting for a second approver, over a queue of a few thousand cases, and the demo's
 * hunt with its critical wave waiting — on a throw-away SQLite store, with Debian's Chromium (set
 * RIPOSTE_CHROMIUM to use another). AI assistance is enabled against the lab's LLM simulator for the AI summary.
 */
if (chromiumMissing) {
  process.stderr.write(`screenshots: ${chromiumMissing}\n`);
  process.exit(1);
}
const out = join(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const backend = testBackends()[0];
if (!backend) throw new Error('no test backend');
const { ui, browser } = await openUi(backend, { fleet: true, ai: true });
try {
  await seedQueue(ui.runtime.store, 3000);
  // A verdict mix for the dashboard: every seeded profile through the enrichment playbook.
  const enrichment = ui.runtime.playbooks.get('ip-enrichment');
  if (enrichment)
    for (const seed of SEED_IPS)
      await ui.runtime.engine.waitForRun(await ui.runtime.engine.startRun(enrichment, { ip: seed.ip }, { startedBy: 'alice' }), 30_000);
  const scenario = await seedScenario(ui);
  const { page } = await newPage(browser, ui.url);
  const shot = async (name: string) => {
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(out, `${name}.png`) });
    process.stderr.write(`screenshots: docs/screenshots/${name}.png\n`);
  };
  await page.goto('/');
  await page.getByLabel('User name').waitFor();
  await shot('login');
  await signInAs(page, 'carol');
  await page.getByTestId('case-row').first().waitFor();
  await shot('case-queue');
  await page.goto(`/cases/${scenario.caseNumber}`);
  const row = page.getByTestId('observable-row').filter({ hasText: scenario.ip });
  await row.getByTestId('verdict-chip').waitFor();
  await row.getByText('why').click();
  await shot('case-view');
  await row.getByText('why').click();
  await page.getByTestId('ai-panel').getByRole('button', { name: 'Summarise' }).click();
  await page.locator('[data-testid=ai-answer][data-kind=summary]').waitFor();
  await page.getByTestId('ai-panel').scrollIntoViewIfNeeded();
  await shot('ai-summary');
  await page.goto(`/runs/${scenario.runId}`);
  await page.getByTestId('node-verdict').waitFor();
  await page.getByTestId('node-verdict').click();
  await shot('run-graph');
  await page.goto('/approvals');
  await page.getByTestId('quorum').waitFor();
  await shot('approvals');
  await page.goto('/dashboard');
  await page.getByTestId('kpis').waitFor();
  await shot('dashboard');
  // The second approval releases the block, which is recorded as containment (with its undo and expiry).
  const approval = await ui.runtime.guardrails.get(scenario.approvalId);
  await ui.runtime.guardrails.decide(
    scenario.approvalId,
    { id: 'carol', roles: ['approver'], name: 'carol' },
    { decision: 'approve', arguments_hash: approval.request?.arguments_hash ?? '' },
  );
  await ui.runtime.engine.waitForRun(scenario.runId, 30_000);
  await page.goto('/containment');
  await page.getByTestId('action-row').first().waitFor();
  await page.getByTestId('action-row').first().click();
  await shot('containment');
  await page.goto('/playbooks/contain-ip');
  await page.getByTestId('playbook-graph').getByTestId('node-verdict').waitFor();
  const yaml = await page.getByTestId('yaml').inputValue();
  await page.getByTestId('yaml').fill(yaml.replace('action: core.log', 'action: core.logg'));
  await page.getByTestId('issue').first().waitFor();
  await shot('playbook-editor');
  const email = await seedEmailCase(ui, PHISH_FIXTURE, {
    text: 'You received a voicemail. Open the attachment to listen.',
  });
  await page.goto(`/cases/${email.caseNumber}`);
  await page.getByTestId('email-view').waitFor();
  await shot('email-case');
  await page.goto('/intel');
  await page.getByTestId('technique-cell').first().waitFor();
  await shot('intel');
  await page.context().clearCookies();
  await signInAs(page, 'admin', '/integrations');
  await page.getByTestId('test-connection').first().click();
  await page.getByTestId('test-result').first().waitFor();
  await shot('integrations');
  await page.goto('/audit');
  await page.getByTestId('chain-status').waitFor();
  await shot('audit');
  // Last, so the other pages do not show the hunt: canary and 10% verified, the critical wave waiting.
  const hunt = await seedHuntScenario(ui);
  await page.goto(`/hunts/${hunt.huntId}`);
  await page.getByTestId('wave-approval').waitFor();
  await page.locator('[data-testid=wave][data-status=verified]').nth(1).waitFor();
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(out, 'hunts.png'), fullPage: true });
  process.stderr.write('screenshots: docs/screenshots/hunts.png\n');
} finally {
  await browser.close();
  await ui.close();
}
