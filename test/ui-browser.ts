import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildUi } from '../scripts/build-ui.ts';
import { type TestBackend, testBackends } from '../src/store/testing.ts';
import { PASSWORD, startUiServer, type UiServer, type UiWorld } from './ui-harness.ts';

/**
 * Browser tests drive Debian's Chromium (`apt install chromium`; CI installs it) through playwright-core.
 * Without it the UI tests skip and say why. The UI is (re)built first when ui/dist is missing or stale.
 */
export const CHROMIUM = process.env.RIPOSTE_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumMissing: string | false = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM} (apt install chromium, or set RIPOSTE_CHROMIUM)`;

export async function launchBrowser(): Promise<Browser> {
  await buildUi('if-stale', { quiet: true });
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
  });
}

/** Everything a page did that a test should fail on: JS errors, CSP violations, dialogs. */
export interface PageWatch {
  errors: string[];
  dialogs: string[];
}

export async function newPage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const watch: PageWatch = { errors: [], dialogs: [] };
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) watch.errors.push(message.text());
  });
  page.on('dialog', async (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return { context, page, watch };
}

export async function signInAs(page: Page, user: string, path = '/cases'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
}

/**
 * Polls from the test side until `check` holds. (page.waitForFunction with a string would need the page to
 * evaluate code, which the UI's CSP rightly forbids.)
 */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the case queue shows exactly `count` rows. */
export async function rowsShown(page: Page, count: number): Promise<void> {
  await waitUntil(async () => (await page.getByTestId('case-row').count()) === count, `${count} case rows`);
}

/**
 * The store the browser tests run on: SQLite unless RIPOSTE_UI_BACKEND=postgres (with RIPOSTE_TEST_PG_URL).
 * The UI talks to the same API on either store, whose own tests run on both; the browser half runs once.
 */
export function uiBackend(): TestBackend | undefined {
  const wanted = process.env.RIPOSTE_UI_BACKEND ?? 'sqlite';
  return testBackends().find((b) => b.backend === wanted);
}

/** A server and a browser; if either fails to start the other is closed, so a failed `before` cannot hang the run. */
export async function openUi(backend: TestBackend, world: UiWorld = {}): Promise<{ ui: UiServer; browser: Browser }> {
  const [ui, browser] = await Promise.allSettled([startUiServer(backend, world), launchBrowser()]);
  if (ui.status === 'fulfilled' && browser.status === 'fulfilled') return { ui: ui.value, browser: browser.value };
  if (ui.status === 'fulfilled') await ui.value.close().catch(() => {});
  if (browser.status === 'fulfilled') await browser.value.close().catch(() => {});
  throw ui.status === 'rejected' ? ui.reason : (browser as PromiseRejectedResult).reason;
}
