import mqtt from 'mqtt';
import NodeWebSocket from 'ws';
import { test, expect, hydrated } from '../tests/fixtures';
import { line } from '../tests/mqtt';
import { adminPassword } from '../tests/auth-state';
import type { Page } from '@playwright/test';

// The benchmark of docs/benchmarks.md measured in Chromium; not part of the test run:
//   cd end2end && npx playwright test --config bench.config.ts --project root
// Node publishes one reading per QoS 1 message every millisecond through `{base}/mqtt`;
// the page follows `{base}/api/devices/{id}/live` with a socket of its own and notes when
// each frame arrives. Both sides read the same system clock (timeOrigin + now, sub-ms).
// Twice: in a page that does nothing else, and in the device page, which draws the same
// readings live (what a barista sees). A Node viewer follows the same stream beside it,
// to tell the browser's part of the tail from the rest of the path.

async function measure(page: Page, baseURL: string, where: 'bare page' | 'device page') {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const request = page.request;
  const id = `chromium-${where === 'bare page' ? 'bare' : 'device'}-${Date.now().toString(36)}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Latency' } })).status()).toBe(201);
  if (where === 'device page') {
    await page.goto(`./devices/${id}`);
    await hydrated(page);
  } else {
    await page.goto('./healthz');
  }
  const live = new URL(`api/devices/${id}/live`, baseURL);
  live.protocol = 'ws:';
  await page.evaluate((url) => new Promise<void>((resolve) => {
    // `performance` and `WebSocket` here are the page's: no import may shadow them.
    const w = window as unknown as { arrivals: number[][] };
    w.arrivals = [];
    const socket = new WebSocket(url);
    socket.onmessage = (e) => w.arrivals.push([JSON.parse(e.data).tstamp, performance.timeOrigin + performance.now()]);
    socket.onopen = () => resolve();
  }), live.toString());

  // The same stream followed from Node too, to tell the browser's share of the tail
  // from the rest of the path (publisher, bridge, server).
  const nodeArrivals: number[][] = [];
  const session = (await page.context().cookies()).find((c) => c.name === 'wages_session');
  const nodeViewer = new NodeWebSocket(live.toString(), { headers: { cookie: `wages_session=${session?.value}` } });
  nodeViewer.on('message', (data) => nodeArrivals.push([JSON.parse(data.toString()).tstamp, performance.timeOrigin + performance.now()]));
  await new Promise((resolve) => nodeViewer.on('open', resolve));

  const broker = new URL('mqtt', baseURL);
  broker.protocol = 'ws:';
  const client = await mqtt.connectAsync(broker.toString(), { clientId: `bench-${id}`, protocolVersion: 4 });
  const count = seconds * 1000;
  const t0 = Date.now();
  const sent = new Map<number, number>();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    // Always yield, so each message leaves when it is timed rather than in a burst later.
    const wait = start + i - performance.now();
    await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
    sent.set(t0 + i, performance.timeOrigin + performance.now());
    client.publish(`wages/devices/${id}/readings`, line(id, 'chromium', t0 + i, i / 100), { qos: 1 });
  }
  const rate = count / ((performance.now() - start) / 1000);
  const arrived = () => page.evaluate(() => (window as unknown as { arrivals: number[][] }).arrivals.length);
  await expect.poll(arrived, { timeout: 30_000 }).toBe(count);
  await client.endAsync();
  const arrivals = await page.evaluate(() => (window as unknown as { arrivals: number[][] }).arrivals);
  await expect.poll(() => nodeArrivals.length, { timeout: 30_000 }).toBe(count);
  nodeViewer.close();
  const report = (who: string, got: number[][]) => {
    const latencies = got.map(([t, at]) => at - (sent.get(t) ?? NaN)).sort((a, b) => a - b);
    const at = (p: number) => latencies[Math.round((latencies.length - 1) * p)].toFixed(1);
    console.log(`${who}, ${where}: ${latencies.length} frames at ${rate.toFixed(0)} readings/s; p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
  };
  report('Chromium', arrivals);
  report('Node viewer beside it', nodeArrivals);
}

test('publish → Chromium latency at 1,000 readings/s', async ({ page, baseURL }) => {
  test.setTimeout(180_000);
  await page.goto('./login');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await hydrated(page);
  await measure(page, baseURL!, 'bare page');
  await measure(page, baseURL!, 'device page');
});
