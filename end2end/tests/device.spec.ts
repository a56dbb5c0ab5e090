import { test, expect, hydrated, screenshot } from './fixtures';
import type { WebSocketRoute } from '@playwright/test';
import { publishReadings, publishStatus, line } from './mqtt';

/** 30 s of a typical espresso at 10 Hz, in messages of one second each. */
function extraction(id: string, session: string, start: number): string[] {
  return Array.from({ length: 30 }, (_, m) =>
    Array.from({ length: 10 }, (_, i) => {
      const t = (m * 10 + i) * 100;
      const s = t / 1000;
      const grams = s < 6 ? 0 : 36 / (1 + Math.exp(-(s - 17) / 3.5));
      return line(id, session, start + t, Math.round(grams * 100) / 100);
    }).join('\n'),
  );
}

test('the device page draws an extraction live and lists it afterwards', async ({ page, request, baseURL, problems }, info) => {
  const id = `live-${Date.now().toString(36)}-${info.project.name}`;
  const created = await request.post('./api/devices', { data: { client_id: id, name: 'Bar, left group' } });
  expect(created.status()).toBe(201);

  await page.goto(`./devices/${id}`);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Bar, left group' })).toBeVisible();
  await expect(page.getByTestId('live-empty')).toContainText('Waiting for readings');
  await expect(page.getByTestId('no-sessions')).toBeVisible();
  await expect(page.getByTestId('presence')).toHaveAttribute('data-online', 'false');
  await publishStatus(baseURL!, id, 'online;firmware=2.1.0');
  await expect(page.getByTestId('presence')).toHaveAttribute('data-online', 'true');
  await expect(page.getByTestId('firmware')).toHaveText('2.1.0');

  const start = Date.now() - 30_000;
  await publishReadings(baseURL!, id, extraction(id, 'brew-1', start));
  const graph = page.getByTestId('live-graph');
  await expect(graph).toHaveAttribute('data-points', '300', { timeout: 10_000 });
  const last = Number(await graph.getAttribute('data-last-value'));
  expect(last).toBeGreaterThan(34);
  await expect(page.getByTestId('live-weight')).toHaveText(last.toFixed(1));
  await expect(page.getByTestId('live-elapsed')).toHaveText('29.9');
  await expect(page.getByTestId('live-session')).toHaveText('brew-1');
  await expect(page.getByTestId('live-empty')).toHaveCount(0);
  // The history lists the session while it runs.
  await expect(page.locator('tr[data-session-id="brew-1"]')).toBeVisible();
  await screenshot(page, info.project.name, 'device-live');

  // A new session starts a fresh graph.
  await publishReadings(baseURL!, id, extraction(id, 'brew-2', Date.now()).slice(0, 3));
  await expect(graph).toHaveAttribute('data-points', '30', { timeout: 10_000 });
  await expect(page.getByTestId('live-session')).toHaveText('brew-2');
  await expect(page.locator('tr[data-session-id="brew-2"]')).toBeVisible();

  // Opened again while brew-2 runs: the graph starts from what is stored of it.
  await page.reload();
  await hydrated(page);
  await expect(graph).toHaveAttribute('data-points', '30', { timeout: 10_000 });
  await expect(page.getByTestId('live-session')).toHaveText('brew-2');

  // The CSV export has exactly the published rows.
  const csvLink = page.locator('tr[data-session-id="brew-1"] a', { hasText: 'CSV' });
  const csv = await (await request.get(await csvLink.getAttribute('href') as string)).text();
  const rows = csv.trim().split('\n');
  expect(rows).toHaveLength(301);
  expect(rows[1]).toBe(`${id},brew-1,0,${start}`);
  expect(problems).toEqual([]);
});

test('a live stream that drops opens again and catches up on what it missed', async ({ page, request, baseURL }, info) => {
  const id = `drop-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Dropping' } })).status()).toBe(201);
  // The page's live sockets pass through the test, which can cut them as a network blip would.
  const streams: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/api\/devices\/[^/]+\/live$/, (ws) => {
    ws.connectToServer();
    streams.push(ws);
  });
  await page.goto(`./devices/${id}`);
  await hydrated(page);
  // A shot running now: its readings from 7 s ago on (a session is live for 10 s after its last reading).
  const brew = extraction(id, 'brew-3', Date.now() - 7_000);
  await publishReadings(baseURL!, id, brew.slice(0, 3));
  const graph = page.getByTestId('live-graph');
  await expect(graph).toHaveAttribute('data-points', '30', { timeout: 10_000 });
  expect(streams).toHaveLength(1);

  // The stream drops; readings go on arriving at the server meanwhile.
  await streams[0].close();
  await publishReadings(baseURL!, id, brew.slice(3, 6));
  // It opens again within seconds and the graph catches up on what came as no frame.
  await expect.poll(() => streams.length, { timeout: 10_000 }).toBe(2);
  await expect(graph).toHaveAttribute('data-points', '60', { timeout: 10_000 });
  await publishReadings(baseURL!, id, brew.slice(6, 7));
  await expect(graph).toHaveAttribute('data-points', '70', { timeout: 10_000 });
});

test('an unknown scale gets a readable page', async ({ page }) => {
  const response = await page.goto('./devices/nobody-here');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such scale' })).toBeVisible();
});
