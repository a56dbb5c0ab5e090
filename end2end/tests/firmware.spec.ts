import { test, expect, hydrated, screenshot } from './fixtures';
import { firstMessage, publishStatus } from './mqtt';

test('a firmware offer goes out from the page and the rollout follows the scales live', async ({ page, request, baseURL, problems }, info) => {
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const scales = [`fw-a-${stamp}`, `fw-b-${stamp}`];
  for (const id of scales) {
    expect((await request.post('./api/devices', { data: { client_id: id, name: `Scale ${id.slice(3, 4).toUpperCase()}` } })).status()).toBe(201);
    await publishStatus(baseURL!, id, 'online;firmware=1.0.0');
  }
  const version = `2.0.${Date.now()}`;
  const sha = 'c0ffee'.repeat(10) + 'beef';

  await page.goto('./firmware');
  await hydrated(page);
  // A mistake is named at its field, and nothing is published.
  await page.getByLabel('Version').fill(version);
  await page.getByLabel('Download URL').fill(`https://firmware.example/scale-${version}.bin`);
  await page.getByLabel('SHA-256').fill('not-a-hash');
  await page.getByRole('button', { name: 'Publish offer' }).click();
  await expect(page.locator('[data-field="sha256"]')).toContainText('64 hexadecimal digits');

  await page.getByLabel('SHA-256').fill(sha);
  await page.getByRole('button', { name: 'Publish offer' }).click();
  await expect(page.getByRole('status')).toHaveText(`Offered ${version} to every scale.`);
  await expect(page.getByTestId('offer-version')).toHaveText(version);
  const row = (id: string) => page.locator(`tr[data-client-id="${id}"]`);
  for (const id of scales) await expect(row(id)).toHaveAttribute('data-state', 'pending');

  // A scale connecting now still gets the offer: it is retained.
  const received = await firstMessage(baseURL!, 'wages/firmware', `e2e-fw-${stamp}`);
  expect(received).toBe(`version=${version};url=https://firmware.example/scale-${version}.bin;sha256=${sha}`);

  // One scale installs it and reports the new version; the other goes offline.
  await publishStatus(baseURL!, scales[0], `online;firmware=${version}`);
  await expect(row(scales[0])).toHaveAttribute('data-state', 'updated');
  await publishStatus(baseURL!, scales[1], 'offline');
  await expect(row(scales[1])).toHaveAttribute('data-state', 'offline');
  await expect(page.getByTestId('rollout-share')).toHaveText(/^\d+\/\d+ scales updated \(\d+ %\)$/);
  expect(Number(await page.getByTestId('rollout-share').getAttribute('data-updated'))).toBeGreaterThanOrEqual(1);
  await screenshot(page, info.project.name, 'firmware');
  // The refused offer was a 422 answer, which the browser reports; nothing else may fail.
  expect(problems).toEqual(['console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)']);
});
