import { test, expect, hydrated, screenshot } from './fixtures';
import { publishReadings, line } from './mqtt';

test('the pipeline page shows readings as they are stored, and its settings apply', async ({ page, request, baseURL, problems }, info) => {
  const id = `pipe-${Date.now().toString(36)}-${info.project.name}`;
  const created = await request.post('./api/devices', { data: { client_id: id, name: 'Pipeline scale' } });
  expect(created.status()).toBe(201);

  await page.goto('./pipeline');
  await hydrated(page);
  await expect(page.getByTestId('connected')).toHaveText('connected');
  const before = Number(await page.getByTestId('stored').textContent());

  // 20 messages of 5 readings, and a line that is not a reading.
  const payloads = Array.from({ length: 20 }, (_, m) =>
    Array.from({ length: 5 }, (_, i) => line(id, 'espresso', 1_000 + (m * 5 + i) * 100, (m * 5 + i) / 2)).join('\n'),
  );
  payloads.push(`${line(id, 'espresso', 99_000, 1)}\nclient_id=${id};session_id=espresso;value=lots;tstamp=99100`);
  await publishReadings(baseURL!, id, payloads);

  // No reload: the page refreshes itself. Other tests publish to this server at the same
  // time, so the total only has to grow by at least ours; this scale's row is exact.
  const device = page.locator(`[data-testid="per-device"] tr[data-client-id="${id}"]`);
  await expect(device.locator('td').nth(1)).toHaveText('101', { timeout: 10_000 });
  expect(Number(await page.getByTestId('stored').textContent())).toBeGreaterThanOrEqual(before + 101);
  await expect(device.locator('td').nth(3)).toHaveText('49.5');
  await expect(page.getByTestId('dead-letters')).toContainText('expected a number for value, found "lots"');
  await screenshot(page, info.project.name, 'pipeline');

  const form = page.getByTestId('pipeline-settings');
  await form.getByLabel('Batch size').fill('0');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(page.locator('.field-error[data-field="batch_size"]')).toHaveText('batch_size must be between 1 and 10000, not 0');

  await form.getByLabel('Batch size').fill('200');
  await form.getByLabel('Workers').fill('2');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('status')).toHaveText('Applied: batches of 200 readings, 50 ms timeout, 2 workers.');
  const figures = await (await request.get('./api/pipeline')).json();
  expect(figures.settings).toEqual({ batch_size: 200, batch_timeout_ms: 50, concurrency: 2 });

  // Back to the defaults, for whoever comes next.
  const reset = await request.put('./api/pipeline/config', { data: { batch_size: 2000, batch_timeout_ms: 50, concurrency: 1 } });
  expect(reset.status()).toBe(200);
  // The browser reports the refused setting's 422 on the console; nothing else.
  expect(problems).toEqual(['console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)']);
});

test.describe('before the WASM loads', () => {
  test.use({ javaScriptEnabled: false });

  test('the settings form works with a plain form post', async ({ page, request }) => {
    await page.goto('./pipeline');
    await expect(page.getByTestId('stored')).toBeVisible();
    const form = page.getByTestId('pipeline-settings');
    await form.getByLabel('Batch timeout').fill('80');
    await form.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await (await request.get('./api/pipeline')).json()).settings.batch_timeout_ms).toBe(80);
    const reset = await request.put('./api/pipeline/config', { data: { batch_size: 2000, batch_timeout_ms: 50, concurrency: 1 } });
    expect(reset.status()).toBe(200);
  });
});
