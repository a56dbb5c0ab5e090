import { test, expect, hydrated, screenshot } from './fixtures';
import { publishReadings, line } from './mqtt';

// What a cafe puts on the counter, and what a barista has in a pocket: a tablet, upright
// and on its side, and a phone. Every page fits the screen's width (nothing scrolls
// sideways) and is screenshotted for a person to look at.
const tablets = [
  { name: 'tablet-portrait', width: 820, height: 1180 },
  { name: 'tablet-landscape', width: 1180, height: 820 },
  { name: 'phone', width: 390, height: 844 },
];

test('the pages fit a tablet, upright and on its side, and a phone', async ({ page, request, baseURL, problems }, info) => {
  // Fifteen pages at three sizes, each loaded and hydrated.
  test.setTimeout(90_000);
  const id = `tablet-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Counter scale' } })).status()).toBe(201);
  const start = Date.now() - 600_000;
  const messages = Array.from({ length: 30 }, (_, m) =>
    Array.from({ length: 10 }, (_, i) => {
      const s = m + i / 10;
      return line(id, 'flat-white', start + Math.round(s * 1000), Math.round((s < 5 ? 0 : 38 / (1 + Math.exp(-(s - 16) / 3))) * 100) / 100);
    }).join('\n'),
  );
  await publishReadings(baseURL!, id, messages);
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions`)).json().then((s) => s.length)).toBe(1);
  // Shared, so the shot's page shows its link (a long one, which must wrap on a phone).
  expect((await request.put(`./api/devices/${id}/sessions/flat-white/share`)).ok()).toBe(true);

  const pages = [
    ['home', './'],
    ['device', `./devices/${id}`],
    ['session', `./devices/${id}/sessions/flat-white`],
    ['scales', './devices'],
    ['shots', './shots'],
    ['shot-import', './shots/import'],
    ['beans', './beans'],
    ['pipeline', './pipeline'],
    ['firmware', './firmware'],
    ['tokens', './tokens'],
    ['people', './people'],
    ['audit', './audit'],
    ['me', './me'],
    ['simulator', `./simulator/${id}`],
    ['bluetooth', `./bluetooth?scale=${id}`],
  ];
  for (const tablet of tablets) {
    await page.setViewportSize({ width: tablet.width, height: tablet.height });
    for (const [name, url] of pages) {
      await page.goto(url);
      await hydrated(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect.soft(overflow, `${name} scrolls sideways on a ${tablet.name}`).toBeLessThanOrEqual(0);
      await screenshot(page, info.project.name, `${tablet.name}-${name}`);
    }
  }
  expect(problems).toEqual([]);
});

test('on a phone the header is compact, the five most used places a tab bar at the bottom and everything in a menu', async ({ page, request, problems }, info) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('./shots');
  await hydrated(page);
  const tabs = page.getByRole('navigation', { name: 'Main' });
  await expect(tabs.getByRole('link')).toHaveText(['Overview', 'Shots', 'Beans', 'Scales', 'Bluetooth']);
  // The tab bar sits at the bottom of the screen, in reach of a thumb.
  const bar = await tabs.boundingBox();
  expect(bar!.y + bar!.height).toBeGreaterThan(844 - 2);
  expect(bar!.height).toBeLessThan(80);
  // The header: the brand, the page's name and the menu, in one short row.
  const header = (await page.locator('header.topbar').boundingBox())!;
  expect(header.height).toBeLessThan(70);
  await expect(page.getByTestId('page-name')).toHaveText('Shots');
  await expect(page.getByTestId('me-link')).toBeHidden();
  // The menu holds the whole navigation and the account, closed until asked for.
  const menu = page.getByRole('navigation', { name: 'Everything' });
  await expect(menu).toBeHidden();
  await page.getByTestId('menu').locator('summary').click();
  await expect(menu.getByRole('link')).toHaveText([
    'Overview', 'Shots', 'Beans', 'Scales', 'Bluetooth', 'Pipeline', 'Firmware', 'Tokens', 'People', 'Audit', 'admin',
  ]);
  await expect(menu.getByRole('button', { name: 'Log out' })).toBeVisible();
  await screenshot(page, info.project.name, 'phone-menu');
  await menu.getByRole('link', { name: 'Pipeline' }).click();
  await expect(page).toHaveURL(/\/pipeline$/);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByTestId('page-name')).toHaveText('Pipeline');
  // By keyboard too: the menu's summary takes focus and opens with Enter.
  await page.goto('./beans');
  await hydrated(page);
  await expect(page.getByTestId('page-name')).toHaveText('Beans');
  await page.getByTestId('menu').locator('summary').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('navigation', { name: 'Everything' })).toBeVisible();
  // The tab bar hides nothing: the page's end is above it.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const footer = await page.locator('.footer').boundingBox();
  const tabsNow = await tabs.boundingBox();
  expect(footer!.y + footer!.height).toBeLessThanOrEqual(tabsNow!.y + 1);

  // The shots come first; above them the way to the filters and those in use as chips.
  await page.goto('./shots?method=espresso&starred=1');
  await hydrated(page);
  const filterBar = page.getByTestId('filter-bar');
  await expect(filterBar.getByRole('link')).toHaveText(['Filters (2)', 'Espresso ×', 'starred ×']);
  const results = (await page.getByRole('heading', { name: 'Newest first' }).boundingBox())!;
  const form = (await page.getByTestId('shot-filters').boundingBox())!;
  expect(results.y).toBeLessThan(form.y);
  expect(results.y).toBeLessThan(844 / 2);
  await filterBar.getByRole('link', { name: 'Remove filter starred' }).click();
  await expect(page).toHaveURL(/\/shots\?method=espresso$/);
  await expect(page.getByTestId('filter-bar').getByRole('link')).toHaveText(['Filters (1)', 'Espresso ×']);
  await page.getByTestId('filter-bar').getByRole('link', { name: 'Filters (1)' }).click();
  await expect(page.getByTestId('shot-filters')).toBeInViewport();

  // A scale's page: the live weight, the timer and the whole graph in the first screen.
  const id = `phone-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Bar scale' } })).status()).toBe(201);
  await page.goto(`./devices/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('page-name')).toHaveText('Scale');
  const above = (await tabs.boundingBox())!.y;
  for (const testid of ['live-weight', 'live-elapsed', 'live-graph']) {
    const box = (await page.getByTestId(testid).boundingBox())!;
    expect(box.y + box.height, `${testid} ends above the tab bar`).toBeLessThanOrEqual(above);
  }
  await screenshot(page, info.project.name, 'phone-device-first-screen');

  // A tablet keeps the whole navigation in the top bar, and no menu.
  await page.setViewportSize({ width: 820, height: 1180 });
  await expect(page.getByTestId('menu')).toBeHidden();
  await page.goto('./shots');
  await hydrated(page);
  await expect(page.getByTestId('filter-bar')).toBeHidden();
  await expect(tabs.getByRole('link')).toHaveText(['Overview', 'Shots', 'Beans', 'Scales', 'Bluetooth', 'Pipeline', 'Firmware', 'Tokens', 'People', 'Audit']);
  await expect(page.getByTestId('page-name')).toBeHidden();
  await expect(page.getByTestId('me-link')).toBeVisible();
  expect((await tabs.boundingBox())!.y).toBeLessThan(100);
  expect(problems).toEqual([]);
});
