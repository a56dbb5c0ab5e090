import { test, expect, hydrated, screenshot } from './fixtures';
import { publishReadings, line } from './mqtt';

/** An extraction of `seconds` at 10 Hz ending near `target` grams, in one-second messages. */
function extraction(id: string, session: string, start: number, seconds: number, target: number): string[] {
  return Array.from({ length: seconds }, (_, m) =>
    Array.from({ length: 10 }, (_, i) => {
      const s = (m * 10 + i) / 10;
      const grams = s < 5 ? 0 : target / (1 + Math.exp(-(s - seconds / 2) / 3));
      return line(id, session, start + Math.round(s * 1000), Math.round(grams * 100) / 100);
    }).join('\n'),
  );
}

test('a session page shows the whole extraction, overlays another, and exports it', async ({ page, request, baseURL, problems }, info) => {
  const id = `shot-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Window seat' } })).status()).toBe(201);
  const start = Date.now() - 3_600_000;
  await publishReadings(baseURL!, id, extraction(id, 'morning', start, 28, 36));
  await publishReadings(baseURL!, id, extraction(id, 'noon', start + 600_000, 32, 40));
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions`)).json().then((s) => s.length)).toBe(2);

  // From the scale's page to the session.
  await page.goto(`./devices/${id}`);
  await page.locator('tr[data-session-id="morning"] a', { hasText: 'morning' }).click();
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'morning' })).toBeVisible();
  const graph = page.getByTestId('session-graph');
  await expect(graph).toHaveAttribute('data-points', '280');
  await expect(graph).toHaveAttribute('data-series', '1');
  await expect(page.getByTestId('count')).toHaveText('280');
  await expect(page.getByTestId('duration')).toHaveText('27.9 s');

  const csv = await (await request.get((await page.getByTestId('export-csv').getAttribute('href'))!)).text();
  expect(csv.trim().split('\n')).toHaveLength(281);
  const json = await (await request.get((await page.getByTestId('export-json').getAttribute('href'))!)).json();
  expect(json.readings).toHaveLength(280);
  expect(json.count).toBe(280);

  // Overlay the other session of the same scale.
  await page.locator('a[data-compare="noon"]').click();
  await expect(graph).toHaveAttribute('data-series', '2');
  await expect(page).toHaveURL(/compare=.*noon/);
  await page.waitForTimeout(200);
  await screenshot(page, info.project.name, 'session-compare');

  // A session that is not there to compare with is said so.
  await page.getByLabel('Session to compare').fill(`${id}/nothing-here`);
  await page.getByRole('button', { name: 'Compare' }).click();
  await expect(page.getByRole('alert')).toContainText('nothing to compare');
  expect(problems.filter((p) => !p.includes('status of 404'))).toEqual([]);
});

test('an unknown session gets a readable 404', async ({ page, request }) => {
  const id = `none-${Date.now().toString(36)}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Empty' } })).status()).toBe(201);
  const response = await page.goto(`./devices/${id}/sessions/never`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such session' })).toBeVisible();
});
