import { test, expect, hydrated, screenshot } from './fixtures';
import type { Page } from '@playwright/test';
import { connectAsScale, publishStatus } from './mqtt';

/** A client id no other test uses. */
function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

async function register(page: Page, clientId: string, name: string) {
  const form = page.getByTestId('register-form');
  await form.getByLabel('Client id').fill(clientId);
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Register' }).click();
}

function row(page: Page, clientId: string) {
  return page.locator(`tr[data-client-id="${clientId}"]`);
}

test('register, rename and delete a scale', async ({ page, problems }, info) => {
  const id = uniqueId('bar');
  await page.goto('./devices');
  await hydrated(page);
  await register(page, id, 'Bar, left group');
  await expect(page.getByRole('status')).toHaveText(`Registered ${id}.`);
  await expect(row(page, id)).toBeVisible();
  await expect(row(page, id).getByLabel(`Name of ${id}`)).toHaveValue('Bar, left group');
  await expect(row(page, id).locator('.badge')).toHaveText('offline');
  await screenshot(page, info.project.name, 'devices');

  await row(page, id).getByLabel(`Name of ${id}`).fill('Window seat');
  const renamed = page.waitForResponse((r) => r.url().includes('/api/fn/rename_device'));
  await row(page, id).getByRole('button', { name: 'Rename' }).click();
  expect((await renamed).status()).toBe(200);
  await page.reload();
  await expect(row(page, id).getByLabel(`Name of ${id}`)).toHaveValue('Window seat');

  await hydrated(page);
  await row(page, id).getByText('Delete…').click();
  await expect(row(page, id).getByText('Window seat')).toBeVisible();
  await screenshot(page, info.project.name, 'devices-confirm-delete');
  await row(page, id).getByRole('button', { name: `Delete ${id}` }).click();
  await expect(row(page, id)).toHaveCount(0);
  await page.reload();
  await expect(row(page, id)).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('validation errors appear next to the field', async ({ page, problems }, info) => {
  await page.goto('./devices');
  await hydrated(page);
  await register(page, 'bad.id', 'Somewhere');
  const idError = page.locator('.field-error[data-field="client_id"]');
  await expect(idError).toHaveText('client_id may only contain A-Z a-z 0-9 _ -');
  await screenshot(page, info.project.name, 'devices-validation');

  const id = uniqueId('dup');
  await register(page, id, 'First');
  await expect(row(page, id)).toBeVisible();
  await register(page, id, 'Second');
  await expect(idError).toHaveText('client_id is already registered');

  await register(page, uniqueId('long'), 'x'.repeat(101));
  await expect(page.locator('.field-error[data-field="name"]')).toHaveText('name must be at most 100 characters');
  // Each refusal is a 422 answer, which the browser reports; nothing else may fail.
  expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
  expect(problems).toHaveLength(3);
});

test('search finds scales by id or name', async ({ page, problems }) => {
  const id = uniqueId('find');
  await page.goto('./devices');
  await hydrated(page);
  await register(page, id, 'Espresso corner');
  await expect(row(page, id)).toBeVisible();
  await page.getByLabel('Search').fill('ESPRESSO CORN');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\?q=ESPRESSO/);
  await expect(row(page, id)).toBeVisible();
  await page.getByLabel('Search').fill(uniqueId('nothing'));
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('empty')).toContainText('No scale matches');
  expect(problems).toEqual([]);
});

test.describe('before the WASM loads', () => {
  test.use({ javaScriptEnabled: false });

  test('registering works with a plain form post', async ({ page }, info) => {
    const id = uniqueId('nojs');
    await page.goto('./devices');
    await register(page, id, 'No script');
    await expect(row(page, id)).toBeVisible();
    await screenshot(page, info.project.name, 'devices-no-js');
  });
});

test('the list shows presence and firmware as scales report them', async ({ page, request, baseURL, problems }, info) => {
  const id = `presence-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Presence' } })).status()).toBe(201);
  await page.goto(`./devices?q=${id}`);
  await hydrated(page);
  const row = page.locator(`tr[data-client-id="${id}"]`);
  await expect(row.getByTestId('state')).toHaveText('offline');
  await publishStatus(baseURL!, id, 'online;firmware=4.2.0');
  await expect(row.getByTestId('state')).toHaveText('online');
  await expect(row.getByTestId('firmware')).toHaveText('4.2.0');
  expect(problems).toEqual([]);
});

test("a scale's MQTT password is shown once, works, and can be replaced", async ({ page, request, baseURL, problems }, info) => {
  const id = uniqueId('login');
  await page.goto('./devices');
  await hydrated(page);
  await register(page, id, 'Counter');
  const login = page.getByTestId('mqtt-login');
  await expect(login.getByTestId('mqtt-username')).toHaveText(id);
  const first = (await login.getByTestId('mqtt-password').textContent())!.trim();
  expect(first).toMatch(/^[0-9a-f]{48}$/);
  await screenshot(page, info.project.name, 'devices-registered');

  // The scale logs in with it and announces itself; another scale's topics are closed to it.
  const scale = await connectAsScale(baseURL!, id, first);
  await scale.publishAsync(`wages/devices/${id}/status`, 'online;firmware=3.1.4', { qos: 1, retain: true });
  await scale.endAsync();
  await expect.poll(async () => (await (await request.get(`./api/devices/${id}`)).json()).online).toBe(true);
  await page.goto(`./devices/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('presence')).toHaveAttribute('data-online', 'true');
  await expect(page.getByTestId('firmware')).toHaveText('3.1.4');
  await expect(page.getByTestId('mqtt-password')).toHaveCount(0);

  // A new password replaces the old one at once.
  await page.getByRole('button', { name: 'New password' }).click();
  const second = (await page.getByTestId('mqtt-password').textContent())!.trim();
  expect(second).toMatch(/^[0-9a-f]{48}$/);
  expect(second).not.toBe(first);
  await screenshot(page, info.project.name, 'device-new-password');
  await expect(connectAsScale(baseURL!, id, first)).rejects.toThrow(/Bad username or password/i);
  const again = await connectAsScale(baseURL!, id, second);
  await again.endAsync();
  expect(problems).toEqual([]);
});
