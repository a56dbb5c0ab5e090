import { test, expect, hydrated } from './fixtures';
import { publishReadings, line } from './mqtt';

// These tests hold back or refuse the app's files with page.route, which does not see
// what the service worker fetches: the worker stays out.
test.use({ serviceWorkers: 'block' });

// A barista in Tokyo: times in their zone from the first server render on, weights in
// ounces once they ask for them.
test.use({ timezoneId: 'Asia/Tokyo' });

test('times are in the viewer’s zone, weights in grams or ounces', async ({ page, request, baseURL, problems }, info) => {
  const id = `tz-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Kissa' } })).status()).toBe(201);
  const start = Math.floor((Date.now() - 7_200_000) / 1000) * 1000;
  const lines = Array.from({ length: 50 }, (_, i) => line(id, 'kissaten', start + i * 100, i * 0.8));
  await publishReadings(baseURL!, id, [lines.join('\n')]);
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions/kissaten`)).json().then((s) => s.count)).toBe(50);
  const tokyo = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).format(new Date(start));

  // The first page tells the server the browser's zone; every page after is rendered in it.
  await page.goto('./');
  await hydrated(page);
  const html = await (await page.context().request.get(`./devices/${id}/sessions/kissaten`)).text();
  expect(html).toContain(tokyo);
  await page.goto(`./devices/${id}/sessions/kissaten`);
  await hydrated(page);
  await expect(page.locator('.device-head')).toContainText(`started ${tokyo}`);
  await expect(page.locator('.device-head')).not.toContainText('UTC');

  // Ounces, by a plain link in the footer; back to the same page.
  await expect(page.getByTestId('final-weight')).toHaveText('39.2');
  await page.getByTestId('units-oz').click();
  await expect(page).toHaveURL(new RegExp(`/devices/${id}/sessions/kissaten$`));
  await expect(page.getByTestId('final-weight')).toHaveText('1.38');
  await expect(page.getByText('ounces at the end')).toBeVisible();
  await page.getByTestId('units-g').click();
  await expect(page.getByTestId('final-weight')).toHaveText('39.2');
  // Only this site's pages are gone back to.
  const away = await page.context().request.get('./prefs?units=oz&back=//example.com/x', { maxRedirects: 0 });
  expect(away.status()).toBe(303);
  expect(away.headers()['location']).not.toContain('example.com');
  expect((await page.context().request.get('./prefs?units=stone')).status()).toBe(422);
  expect(problems).toEqual([]);
});

// A click on the footer's other unit changes the cookie at once, while the page being
// left may still be hydrating: it must hydrate in the unit the server drew it in.
test('a page hydrates in the unit it was drawn in, whatever the cookie says meanwhile', async ({ page, problems }) => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\/pkg\/wages\.[^/]*\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('./');
  await expect(page.getByTestId('units-oz')).toBeVisible();
  await page.context().addCookies([{ name: 'wages_units', value: 'oz', url: page.url() }]);
  release();
  await hydrated(page);
  await expect(page.getByTestId('units-oz')).toBeVisible();
  expect(problems).toEqual([]);
});
