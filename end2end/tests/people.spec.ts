import { Browser, Page } from '@playwright/test';
import { test, expect, hydrated, screenshot, basePath } from './fixtures';
import { publishReadings, line } from './mqtt';

// A cafe's day: the admin adds a barista and a viewer; the barista logs in, chooses a
// password, brews and shares the shot; the viewer sees it all and can change nothing;
// the shared link opens for anyone, logged out, and stops when withdrawn.

/** A fresh browser, logged in as `user`, having replaced their first password. */
async function firstLogin(browser: Browser, baseURL: string, user: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await page.goto('./login');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill('first password');
  await page.getByRole('button', { name: 'Log in' }).click();
  // A first password leads to the account page, whatever page was asked for.
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByTestId('must-change')).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Current password').fill('first password');
  await page.getByLabel('New password').fill(`${user} own password`);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByTestId('password-changed')).toBeVisible();
  return page;
}

test('a cafe gives each person their own login, and a shot is shared by a link', async ({ page, browser, baseURL, request, problems }, info) => {
  test.setTimeout(90_000);
  const suffix = `${Date.now().toString(36)}-${info.project.name}`;
  const [barista, viewer] = [`bea-${suffix}`, `vic-${suffix}`];
  const scale = `bar-${suffix}`;

  // The admin adds two people on the People page.
  await page.goto('./people');
  await hydrated(page);
  for (const [user, role] of [[barista, 'barista'], [viewer, 'viewer']]) {
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Role').first().selectOption(role);
    await page.getByLabel('First password').fill('first password');
    await page.getByRole('button', { name: 'Add person' }).click();
    await expect(page.locator(`tr[data-person="${user}"]`)).toContainText(role);
  }
  await expect(page.locator(`tr[data-person="${viewer}"]`)).toContainText('must choose a password');
  await screenshot(page, info.project.name, 'people');

  // A scale brews a shot.
  expect((await request.post('./api/devices', { data: { client_id: scale, name: 'Bar, left' } })).status()).toBe(201);
  const start = Date.now() - 60_000;
  await publishReadings(baseURL!, scale, [Array.from({ length: 60 }, (_, i) => line(scale, 'morning-1', start + i * 500, i * 0.6)).join('\n')]);
  await expect.poll(async () => (await request.get(`./api/devices/${scale}/sessions/morning-1`)).status()).toBe(200);
  const shotPath = `./devices/${scale}/sessions/morning-1`;

  // The barista: notes on the shot, then Share.
  const bea = await firstLogin(browser, baseURL!, barista);
  await expect(bea.getByRole('link', { name: 'Tokens' })).toHaveCount(0);
  await bea.goto(shotPath);
  await hydrated(bea);
  await bea.locator('#notes').fill('Sweet, a touch of cocoa.');
  await bea.getByRole('button', { name: 'Save the shot' }).click();
  await expect(bea.getByTestId('shot-form').getByRole('status')).toHaveText('Saved.');
  const edited = await (await bea.context().request.get(`./api/devices/${scale}/sessions/morning-1`)).json();
  expect(edited.edited_by).toBe(barista);
  await bea.getByTestId('share-form').getByRole('button', { name: 'Share' }).click();
  // Withdrawn on the shot's page and shared again: the card follows each answer.
  await bea.getByTestId('withdraw-form').getByRole('button', { name: 'Stop sharing' }).click();
  await bea.getByTestId('share-form').getByRole('button', { name: 'Share' }).click();
  const link = bea.getByTestId('share-link');
  await expect(link).toBeVisible();
  const sharedUrl = (await link.textContent())!.trim();
  // The page tells the share when it is opened again.
  await bea.reload();
  await hydrated(bea);
  await expect(bea.getByTestId('share-link')).toHaveText(sharedUrl);
  const origin = new URL(baseURL!).origin;
  expect(sharedUrl).toMatch(new RegExp(`^${origin}${basePath(baseURL)}/s/[0-9a-f]{32}$`));
  const shared = new URL(sharedUrl).pathname;
  await screenshot(bea, info.project.name, 'shot-shared');

  // The viewer reads everything and can change nothing.
  const vic = await firstLogin(browser, baseURL!, viewer);
  await vic.goto(shotPath);
  await hydrated(vic);
  await expect(vic.getByTestId('session-graph')).toBeVisible();
  await expect(vic.getByTestId('shot-form')).toHaveCount(0);
  await expect(vic.getByTestId('share-form')).toHaveCount(0);
  await vic.goto('./devices');
  await hydrated(vic);
  await expect(vic.getByTestId('register-form')).toHaveCount(0);
  const edit = await vic.context().request.patch(`./api/devices/${scale}/sessions/morning-1`, { data: { notes: 'mine' } });
  expect(edit.status()).toBe(403);
  expect((await vic.context().request.get('./people')).status()).toBe(403);

  // Anyone with the link, logged out, sees the shot and its notes.
  const stranger = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const anyone = await stranger.newPage();
  await anyone.goto(origin + shared);
  await expect(anyone.getByRole('heading', { level: 1 })).toContainText('Shot');
  await expect(anyone.getByText('Sweet, a touch of cocoa.')).toBeVisible();
  await expect(anyone.locator('img')).toHaveJSProperty('complete', true);
  expect(await anyone.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1200);
  await screenshot(anyone, info.project.name, 'shared-shot');
  await anyone.setViewportSize({ width: 390, height: 844 });
  await screenshot(anyone, info.project.name, 'shared-shot-phone');

  // The barista withdraws it from their account page; the link says so.
  await bea.goto('./me');
  await hydrated(bea);
  await expect(bea.getByTestId('shares')).toContainText(`${scale} · morning-1`);
  await bea.getByTestId('shares').getByRole('button', { name: 'Withdraw' }).click();
  await expect(bea.getByTestId('shares')).toHaveCount(0);
  const gone = await anyone.goto(origin + shared);
  expect(gone?.status()).toBe(404);
  await expect(anyone.getByRole('heading', { level: 1 })).toHaveText('This shot is not shared');

  // Sites: the admin adds the shop, moves the scale into it, and the dashboard shows
  // that shop's scales alone.
  const shop = `shop-${suffix}`;
  await page.goto('./people');
  await hydrated(page);
  await page.getByLabel('Id', { exact: true }).fill(shop);
  await page.locator('#site-name').fill('Soho');
  await page.getByLabel('Time zone').fill('Europe/London');
  await page.getByRole('button', { name: 'Add site' }).click();
  await expect(page.locator(`tr[data-site="${shop}"]`)).toContainText('Europe/London');
  await page.goto(`./devices/${scale}`);
  await hydrated(page);
  await page.getByTestId('site-form').getByLabel('Site').selectOption(shop);
  await page.getByTestId('site-form').getByRole('button', { name: 'Move' }).click();
  await expect.poll(async () => (await (await request.get(`./api/devices/${scale}`)).json()).site).toBe(shop);
  await page.goto('./');
  await hydrated(page);
  await page.getByTestId('site-picker').getByLabel('Site').selectOption(shop);
  await page.getByTestId('site-picker').getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(new RegExp(`\\?site=${shop}$`));
  await expect(page.locator('.scale-card')).toHaveCount(1);
  await expect(page.locator(`.scale-card[data-client-id="${scale}"]`)).toBeVisible();
  await screenshot(page, info.project.name, 'dashboard-site');

  // The audit list shows the admin's changes.
  await page.goto('./audit');
  await expect(page.getByTestId('audit')).toContainText('add person');
  await expect(page.getByTestId('audit')).toContainText(`username=${viewer}`);
  await expect(page.getByTestId('audit')).toContainText('move scale to a site');
  await screenshot(page, info.project.name, 'audit');
  for (const context of [bea.context(), vic.context(), stranger]) await context.close();
  expect(problems).toEqual([]);
});
