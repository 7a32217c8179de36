import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { adaptPayload } from '../src/cases/index.ts';
import { chromiumMissing, newPage, openUi, type PageWatch, signInAs, uiBackend } from './ui-browser.ts';
import type { UiServer } from './ui-harness.ts';

/**
 * Hostile content is text, everywhere: alert fields, case titles, tags, observables, comments (Markdown)
 * and audit details carrying script tags, event-handler attributes and javascript: links are shown as typed;
 * no dialog fires, no element the payload names ends up in the page, no handler runs.
 */
const backend = uiBackend();
const SCRIPT = '<script>alert("xss-script")</script>';
const IMG = '<img src=x onerror="alert(\'xss-img\')" id="xss-img">';
const SVG = '<svg onload="alert(\'xss-svg\')" id="xss-svg"></svg>';
const LINK = '[click me](javascript:alert("xss-link"))';

async function assertInert(page: Page, watch: PageWatch): Promise<void> {
  // Give onerror/onload handlers a chance to fire had anything been parsed as HTML.
  await page.waitForTimeout(300);
  assert.deepEqual(watch.dialogs, [], 'no dialog fired');
  assert.equal(await page.locator('#xss-img, #xss-svg, img[src=x], script:not([src])').count(), 0, 'no injected element');
  assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, 'no javascript: link');
}

describe('XSS: hostile content shows as text', { skip: chromiumMissing || !backend }, () => {
  let ui: UiServer;
  let browser: Browser;
  let caseNumber: number;

  before(async () => {
    if (!backend) return;
    ({ ui, browser } = await openUi(backend));
    const [result] = await ui.runtime.cases.ingest(
      adaptPayload(
        'generic',
        {
          id: 'xss-1',
          title: `Alert ${SCRIPT} ${IMG}`,
          description: `Description ${SVG} ${IMG}`,
          severity: 'high',
          observables: [
            { type: 'domain', value: 'evil.example' },
            { type: 'url', value: `https://evil.example/?q=${encodeURIComponent(SCRIPT)}"><img src=x onerror=alert(1)>` },
          ],
          tags: ['<b>tag</b>'],
        },
        Date.now(),
      ),
    );
    const caseId = result?.case_id as string;
    caseNumber = (await ui.runtime.cases.getCase(caseId)).number;
    await ui.runtime.cases.addComment(caseId, { body: `${SCRIPT}\n\n${IMG}\n\n${LINK}\n\n**bold** <a href="javascript:alert(2)">x</a>` });
    await ui.runtime.cases.addTask(caseId, { title: `Task ${IMG}` });
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  test('queue, case view and audit show the payloads as text and run nothing', async () => {
    const { page, context, watch } = await newPage(browser, ui.url);
    await signInAs(page, 'admin');
    await page.getByTestId('case-row').first().waitFor();
    assert.match(await page.getByTestId('case-row').first().innerText(), /<script>alert\("xss-script"\)<\/script>/);
    await assertInert(page, watch);

    await page.goto(`/cases/${caseNumber}`);
    await page.getByTestId('case-title').waitFor();
    assert.equal(await page.getByTestId('case-title').innerText(), `Alert ${SCRIPT} ${IMG}`);
    assert.match(await page.locator('.description').innerText(), /<svg onload=/);
    assert.match(await page.getByTestId('alert').first().innerText(), /<img src=x onerror=/);
    const comment = page.getByTestId('comment').first();
    assert.match(await comment.innerText(), /<script>alert\("xss-script"\)<\/script>/);
    assert.match(await comment.innerText(), /\[click me\]\(javascript:alert\("xss-link"\)\)/, 'an unsafe link stays text');
    assert.match(await comment.innerHTML(), /<strong>bold<\/strong>/, 'Markdown still renders');
    assert.match(await page.locator('.tags').innerText(), /<b>tag<\/b>/);
    assert.match(await page.getByTestId('observable-row').filter({ hasText: 'evil.example/' }).innerText(), /onerror=alert\(1\)/);
    await assertInert(page, watch);

    await page.goto('/audit');
    await page.getByTestId('chain-status').waitFor();
    await assertInert(page, watch);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
