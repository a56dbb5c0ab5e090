import { test, expect, hydrated, screenshot } from './fixtures';
import { publishReadings, line } from './mqtt';

// A barista's phone loses the network at the bar. The app opens to the pages last viewed,
// marked as offline, instead of the browser's error page; a page never viewed lists those
// kept; a shot's notes and rating edited offline are kept on the phone and saved once the
// network is back.
test('with the network gone the app shows the pages last viewed and keeps a shot edited offline', async ({ page, context, request, baseURL }, info) => {
  const id = `offline-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Bar scale' } })).status()).toBe(201);
  const start = Date.now() - 600_000;
  const readings = Array.from({ length: 30 }, (_, i) => line(id, 'morning', start + i * 1000, Math.min(36, i * 1.5)));
  await publishReadings(baseURL!, id, [readings.join('\n')]);
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions`)).json().then((s) => s.length)).toBe(1);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('./shots');
  await hydrated(page);
  // The service worker takes the app over once installed.
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 15_000 }).toBe(true);
  const shotPage = `./devices/${id}/sessions/morning`;
  await page.goto(shotPage);
  await hydrated(page);
  await expect(page.locator('body')).not.toHaveAttribute('data-offline');

  // The network goes; the shot's page opens as it was, marked, and still works.
  await context.setOffline(true);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-offline', /^Offline: this page as it was at /);
  await hydrated(page);
  const shot = page.getByTestId('shot-form');
  await shot.getByLabel('Rating 0–100').fill('72');
  await shot.getByLabel('Notes').fill('Pulled while the network was down');
  await shot.getByRole('button', { name: 'Save the shot' }).click();
  await expect(page.getByTestId('kept-offline')).toHaveText('Offline: kept on this device, and saved when the network is back.');
  await screenshot(page, info.project.name, 'phone-offline-shot');

  // The network is back: what was kept goes to the server by itself.
  await context.setOffline(false);
  await expect(page.getByTestId('kept-offline')).toHaveText('Saved: the change kept offline reached the server.');
  await page.reload();
  await expect(page.locator('body')).not.toHaveAttribute('data-offline');
  await expect(shot.getByLabel('Rating 0–100')).toHaveValue('72');
  await expect(shot.getByLabel('Notes')).toHaveValue('Pulled while the network was down');
  expect(await page.evaluate(() => localStorage.getItem('wages-kept'))).toBe('[]');

  // A page never viewed, offline: the pages kept on the phone instead of an error.
  await context.setOffline(true);
  await page.goto('./firmware');
  const list = page.getByTestId('offline-list');
  await expect(list).toContainText('this page was not kept on this device');
  await screenshot(page, info.project.name, 'phone-offline-list');
  await list.getByRole('link', { name: `/devices/${id}/sessions/morning` }).click();
  await expect(page.locator('body')).toHaveAttribute('data-offline', /^Offline:/);
  await expect(page.getByTestId('shot-form').getByLabel('Notes')).toHaveValue('Pulled while the network was down');
  // A tablet on the counter gets the same: the kept page, marked, fitting the screen.
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-offline', /^Offline:/);
  await hydrated(page);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await screenshot(page, info.project.name, 'tablet-offline-shot');
  await context.setOffline(false);
});
