import { test, expect, hydrated } from './fixtures';
import type { Page } from '@playwright/test';
import { publishReadings, line } from './mqtt';

// The first WASM is held back with page.route, which does not see what the service
// worker fetches: the worker stays out.
test.use({ serviceWorkers: 'block' });

/** Holds the first WASM back until `release`; `streams` gathers the paths of the
 * WebSockets the page opens. */
async function holdFirstWasm(page: Page) {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\/pkg\/wages\.[^/]*\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  const streams: string[] = [];
  page.on('websocket', (ws) => streams.push(new URL(ws.url()).pathname));
  return { release: () => release(), streams };
}

// A scale's page and the dashboard are there to be watched live: their stream opens as
// the page arrives, before the WASM is in, and the page takes that socket over once it
// runs (app/src/early_stream.js), keeping what came meanwhile.
test('a scale’s page opens its stream before its code is in, and keeps it', async ({ page, request, baseURL, problems }, info) => {
  const id = `early-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Early bird' } })).status()).toBe(201);
  const { release, streams } = await holdFirstWasm(page);
  const opened = page.waitForEvent('websocket', (ws) => ws.url().endsWith(`/api/devices/${id}/live`));

  await page.goto(`./devices/${id}`);
  const socket = await opened;
  // A reading while the page's code is still on its way comes over the open socket.
  const frame = socket.waitForEvent('framereceived', (f) => String(f.payload).includes('"value":21.5'));
  await publishReadings(baseURL!, id, [line(id, 'early-1', Date.now(), 21.5)]);
  await frame;
  release();
  await hydrated(page);
  await expect(page.getByTestId('live-weight')).toHaveText('21.5');
  await expect(page.getByTestId('live-session')).toHaveText('early-1');

  // The page took that socket over: a later reading comes on it, and it opened no other.
  await publishReadings(baseURL!, id, [line(id, 'early-1', Date.now() + 100, 23.5)]);
  await expect(page.getByTestId('live-weight')).toHaveText('23.5');
  expect(streams.filter((path) => path.endsWith(`/api/devices/${id}/live`))).toHaveLength(1);
  expect(problems).toEqual([]);
});

test('the dashboard opens the fleet’s stream before its code is in', async ({ page }) => {
  const { release, streams } = await holdFirstWasm(page);
  await page.goto('./');
  await expect.poll(() => streams.filter((path) => path.endsWith('/api/live'))).toHaveLength(1);
  release();
  await hydrated(page);
  await page.waitForTimeout(500);
  expect(streams.filter((path) => path.endsWith('/api/live'))).toHaveLength(1);
});
