import { test, expect, hydrated, screenshot } from './fixtures';
import { publishReadings, publishStatus, line } from './mqtt';

test('the home dashboard shows every scale, brewing ones first, and follows them live', async ({ page, request, baseURL, problems }, info) => {
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const idle = `dash-idle-${stamp}`;
  const brewer = `dash-brew-${stamp}`;
  for (const [id, name] of [[idle, 'Window seat'], [brewer, 'Bar, right group']]) {
    expect((await request.post('./api/devices', { data: { client_id: id, name } })).status()).toBe(201);
  }

  await page.goto('./');
  await hydrated(page);
  const card = (id: string) => page.locator(`li.scale-card[data-client-id="${id}"]`);
  await expect(card(idle)).toContainText('Window seat');
  await expect(card(idle)).toContainText('offline');
  await expect(card(idle).getByTestId('card-when')).toHaveText('No readings yet');
  await expect(card(brewer).getByTestId('card-when')).toHaveText('No readings yet');

  // A scale comes online and says its firmware: the card follows without a reload.
  await publishStatus(baseURL!, idle, 'online;firmware=1.4.2');
  await expect(card(idle).locator('.badge')).toHaveText('online');
  await expect(card(idle)).toContainText('firmware 1.4.2');

  // A brew starts while the page is open: its card turns live, shows the weight, moves up.
  const start = Date.now();
  const payload = Array.from({ length: 20 }, (_, i) => line(brewer, 'espresso-1', start + i * 100, i * 0.5)).join('\n');
  await publishReadings(baseURL!, brewer, [payload]);
  await expect(card(brewer)).toHaveAttribute('data-live', 'true', { timeout: 10_000 });
  await expect(card(brewer).getByTestId('card-weight')).toHaveText('9.5');
  await expect(card(brewer).getByTestId('card-when')).toHaveText('1.9 s into espresso-1');
  await expect(card(brewer).getByText('Brewing')).toBeVisible();
  const order = await page.locator('li.scale-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-client-id')));
  expect(order.indexOf(brewer)).toBeLessThan(order.indexOf(idle));
  await expect(card(brewer).getByRole('link', { name: 'Bar, right group' })).toHaveAttribute('href', new RegExp(`/devices/${brewer}$`));
  await screenshot(page, info.project.name, 'dashboard');

  // Rendered on the server too: a fresh load lists the brew before any script runs.
  const html = await (await request.get('./')).text();
  expect(html).toContain(`data-client-id="${brewer}" data-live="true"`);

  // Quiet for more than 10 s: the brew is over, the card says when it last weighed.
  await expect(card(brewer)).toHaveAttribute('data-live', 'false', { timeout: 15_000 });
  await expect(card(brewer).getByTestId('card-when')).toHaveText(/^espresso-1 · \d+ s ago$/);
  expect(problems).toEqual([]);
});
