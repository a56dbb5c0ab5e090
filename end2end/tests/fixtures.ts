import { test as base, expect, Page } from '@playwright/test';
import * as path from 'path';

/** Console errors and uncaught exceptions of the page: a clean run has none. */
export const test = base.extend<{ problems: string[] }>({
  problems: async ({ page }, use) => {
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await use(problems);
  },
});
export { expect };

/** The base path this project's server runs under ('' or '/wages'). */
export function basePath(baseURL: string | undefined): string {
  return new URL(baseURL ?? 'http://x/').pathname.replace(/\/$/, '');
}

/** Waits until the WASM has hydrated the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Saves a screenshot for a person to look at: the whole page, or on a phone the first
 * screen (what a phone shows first, its tab bar at the bottom where it stays). */
export async function screenshot(page: Page, project: string, name: string) {
  const phone = (page.viewportSize()?.width ?? 1280) <= 600;
  await page.screenshot({ path: path.join(__dirname, '..', 'screenshots', `${project}-${name}.png`), fullPage: !phone });
}
