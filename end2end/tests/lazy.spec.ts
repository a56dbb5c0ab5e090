import { test, expect, hydrated } from './fixtures';

// These tests hold back or refuse the app's files with page.route, which does not see
// what the service worker fetches: the worker stays out.
test.use({ serviceWorkers: 'block' });

// Every page but the dashboard and the login page comes in chunks of WASM fetched when a
// person first goes to it. A tab left open across an upgrade asks for the old build's
// chunks, which the server no longer has: the page is then loaded whole from the server.
test('a page whose code is gone from the server is loaded whole instead', async ({ page }) => {
  await page.goto('./');
  await hydrated(page);
  // A newer build replaced the site's files: this tab's chunks are gone.
  await page.route(/\/pkg\/parts\?/, (route) => route.fulfill({ status: 404, body: 'gone' }));
  const fullLoad = page.waitForRequest((r) => r.resourceType() === 'document' && /\/shots$/.test(r.url()));
  await page.locator('header nav a', { hasText: 'Shots' }).first().click();
  await fullLoad;
  await expect(page).toHaveURL(/\/shots$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Shots' })).toBeVisible();

  // With the files back, the pages go on in the browser.
  await page.unroute(/\/pkg\/parts\?/);
  await page.goto('./');
  await hydrated(page);
  await page.locator('header nav a', { hasText: 'Beans' }).first().click();
  await expect(page).toHaveURL(/\/beans$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Beans' })).toBeVisible();
});

// A lazy page's code is a dozen files or more; they come in one request, which the page's
// HTML names so the browser asks for it beside the first WASM. A page of another group
// then asks only for what it lacks.
test('a lazy page’s parts come in one request its HTML names', async ({ page }) => {
  const asked: URL[] = [];
  page.on('request', (r) => {
    if (/\/pkg\/(parts\?|chunk_|split_)/.test(r.url())) asked.push(new URL(r.url()));
  });
  const response = await page.goto('./beans');
  const html = await response!.text();
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Beans' })).toBeVisible();
  expect(asked.map((u) => u.pathname.replace(/.*\/pkg\//, ''))).toEqual(['parts']);
  expect(html).toContain(`href="${asked[0].pathname}${asked[0].search}"`);
  const first = asked[0].searchParams.get('want')!.split(',');
  expect(first.length).toBeGreaterThan(3);

  await page.locator('header nav a', { hasText: 'Scales' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Scales' })).toBeVisible();
  expect(asked).toHaveLength(2);
  const second = asked[1].searchParams.get('want')!.split(',');
  expect(second.filter((name) => first.includes(name))).toEqual([]);
  expect(second.length).toBeGreaterThan(0);
});

// The split gives each lazy page its strings as well as its code (frontend/src/lib.rs,
// `SPLIT_DATA_ROOM`); without room to lay them out again it leaves them all in the
// first file, which then carries every page's text.
test('the first WASM carries the dashboard, not the other pages’ text', async ({ page }) => {
  const response = await page.goto('./login');
  const html = await response!.text();
  const wasm = html.match(/href="([^"]*\/pkg\/wages\.[^"]*\.wasm)"/)?.[1];
  expect(wasm).toBeTruthy();
  const body = (await (await page.request.get(wasm!)).body()).toString('latin1');
  expect(body).toContain('Every extraction, weighed live');
  // From the beans page and the people page.
  expect(body).not.toContain('Beans are kept once and picked');
  expect(body).not.toContain('Add a person');
});
