import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SEED_IPS } from '../src/lab/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { chromiumMissing, newPage, openUi, signInAs } from '../test/ui-browser.ts';
import { seedQueue, seedScenario } from '../test/ui-harness.ts';

/**
 * `npm run screenshots`: regenerates docs/screenshots/*.png from demo-like data — the suspicious-IP case with
 * its verdict and a block waiting for a second approver, over a queue of a few thousand cases — on a
 * throw-away SQLite store, with Debian's Chromium (set RIPOSTE_CHROMIUM to use another).
 */
if (chromiumMissing) {
  process.stderr.write(`screenshots: ${chromiumMissing}\n`);
  process.exit(1);
}
const out = join(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const backend = testBackends()[0];
if (!backend) throw new Error('no test backend');
const { ui, browser } = await openUi(backend);
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
  await page.context().clearCookies();
  await signInAs(page, 'admin', '/audit');
  await page.getByTestId('chain-status').waitFor();
  await shot('audit');
} finally {
  await browser.close();
  await ui.close();
}
