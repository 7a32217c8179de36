import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissing, newPage, openUi, signInAs, uiBackend, waitUntil } from './ui-browser.ts';
import { seedQueue, type UiServer } from './ui-harness.ts';

/**
 * The case queue with 100,000 cases: how long from navigation until the first page is on screen and answers
 * the keyboard, for the plain queue, a filtered view and a full-text search, and how long paging takes.
 * It measures and prints JSON lines (recorded in BENCHMARKS.md); it asserts only that the pages work.
 * RIPOSTE_UI_QUEUE_CASES overrides the size (e.g. a quick run with 5000).
 */
const CASES = Number(process.env.RIPOSTE_UI_QUEUE_CASES ?? 100_000);
const backend = uiBackend();

describe(`case queue with ${CASES.toLocaleString('en')} cases`, { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend));
    const started = performance.now();
    await seedQueue(ui.runtime.store, CASES);
    process.stderr.write(`ui-queue-scale: seeded ${CASES} cases in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  test('first page to interactive, filtered, searched and paged', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'alice');
    await page.getByTestId('case-row').first().waitFor();
    const figures: Record<string, number> = {};
    for (const [name, path] of [
      ['queue', '/cases'],
      ['queue_filtered', '/cases?status=new,acknowledged,in_progress,contained&severity=critical'],
      ['queue_search', '/cases?q=ransomware'],
    ] as const) {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await page.goto(path);
        await page.getByTestId('case-row').first().waitFor();
        // Interactive: the keyboard moves the selection.
        await page.keyboard.press('j');
        await page.locator('[data-row="1"].active').waitFor();
        samples.push(performance.now() - started);
      }
      assert.ok((await page.getByTestId('case-row').count()) > 0, `${name} shows cases`);
      figures[name] = Math.min(...samples);
    }
    await page.goto('/cases');
    await page.getByTestId('case-row').first().waitFor();
    const firstOnPage1 = await page.getByTestId('case-row').first().innerText();
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      const before = await page.getByTestId('case-row').first().innerText();
      await page.getByRole('button', { name: 'Older →' }).click();
      await waitUntil(async () => (await page.getByTestId('case-row').first().innerText()) !== before, 'the next page');
    }
    figures.page_next = (performance.now() - started) / 5;
    assert.equal(await page.getByTestId('page-number').innerText(), 'Page 6');
    assert.notEqual(await page.getByTestId('case-row').first().innerText(), firstOnPage1);
    for (const [metric, value] of Object.entries(figures))
      process.stdout.write(
        `${JSON.stringify({ suite: 'ui', metric: `${metric}_to_interactive_ms`, value: Math.round(value), unit: 'ms', n: CASES, backend: backend?.backend })}\n`,
      );
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
