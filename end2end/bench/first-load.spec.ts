import mqtt from 'mqtt';
import { test, expect } from '@playwright/test';
import { adminPassword } from '../tests/auth-state';
import { line } from '../tests/mqtt';
import type { Browser, CDPSession } from '@playwright/test';

// First load on a tablet or a phone, measured in Chromium; a benchmark of
// docs/benchmarks.md, not part of the test run:
//   cd end2end && npx playwright test first-load --config bench.config.ts --project root
// For each page (the dashboard, a scale's live page, a shot) and each profile (as is; the
// CPU slowed 4× on 10 Mbit/s, on 1.6 Mbit/s with 150 ms round trips, and on DevTools'
// Fast 3G preset: 1.44 Mbit/s with 562.5 ms round trips), a fresh browser context
// (nothing cached) logged in by its cookie loads the page once. Reported: bytes moved
// over the network (what the server sent, compressed or not), of those the WASM, JS and
// CSS (the app's code and style) and the WASM alone (every chunk the page loaded), the
// requests the page made until it was live (hydrated, for a page without a stream), first
// contentful paint, the moment the WASM took over the page (hydrated), and the moment
// the page is live: hydrated with a reading come over its stream, so it can draw it (the
// stream may open before the WASM runs), each from the navigation's start. A scale publishes a reading every 100 ms meanwhile, as while
// brewing. Then the same page loaded again in the same context: what a second visit moves.

type Profile = { name: string; cpu: number; network?: { down: number; up: number; latency: number } };
const profiles: Profile[] = [
  { name: 'as is', cpu: 1 },
  // Throughputs in bytes per second, latency in ms (Chromium's DevTools presets).
  { name: 'CPU 4×, 10 Mbit/s', cpu: 4, network: { down: 1_250_000, up: 625_000, latency: 40 } },
  { name: 'CPU 4×, 1.6 Mbit/s, 150 ms', cpu: 4, network: { down: 200_000, up: 93_750, latency: 150 } },
  { name: 'CPU 4×, Fast 3G (1.44 Mbit/s, 562.5 ms)', cpu: 4, network: { down: 180_000, up: 84_375, latency: 562.5 } },
];

type Load = { bytes: number; assets: number; wasm: number; requests: number; fcp: number; hydrated: number; live: number | null };

async function load(browser: Browser, cookies: Parameters<import('@playwright/test').BrowserContext['addCookies']>[0], url: string, profile: Profile, live: boolean): Promise<[Load, number]> {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  if (profile.network) {
    const { down, up, latency } = profile.network;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency, downloadThroughput: down, uploadThroughput: up });
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpu });
  let bytes = 0;
  let assets = 0;
  let wasm = 0;
  let requests = 0;
  let counting = true;
  cdp.on('Network.requestWillBeSent', () => {
    if (counting) requests += 1;
  });
  const urls = new Map<string, string>();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    const url = urls.get(e.requestId) ?? '';
    // A lazy page's parts come together from `pkg/parts?want=…` (server/src/bundle.rs).
    const isWasm = url.endsWith('.wasm') || /\/pkg\/parts\?/.test(url);
    if (isWasm) wasm += e.encodedDataLength;
    if (isWasm || /\.(js|css)$/.test(url)) assets += e.encodedDataLength;
  });
  let firstFrame: number | null = null;
  const start = Date.now();
  cdp.on('Network.webSocketFrameReceived', () => {
    firstFrame ??= Date.now() - start;
  });
  await page.goto(url, { waitUntil: 'commit', timeout: 120_000 });
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 120_000 });
  const hydrated = Date.now() - start;
  if (live) await expect.poll(() => firstFrame, { timeout: 60_000, intervals: [20] }).not.toBeNull();
  counting = false;
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
  await page.waitForLoadState('networkidle').catch(() => {});
  // The stream may open before the code runs (app/src/early_stream.js); the page can
  // draw a reading once it is hydrated too.
  const first: Load = { bytes, assets, wasm, requests, fcp, hydrated, live: live && firstFrame !== null ? Math.max(firstFrame, hydrated) : null };
  // A second visit in the same context: the browser's cache answers what it may.
  bytes = 0;
  await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 120_000 });
  await page.waitForLoadState('networkidle').catch(() => {});
  const again = bytes;
  await context.close();
  return [first, again];
}

test('first load of the dashboard, a live scale and a shot', async ({ browser, baseURL }) => {
  test.setTimeout(900_000);
  const setup = await browser.newContext({ baseURL });
  const login = await setup.request.post('./login', { form: { username: 'admin', password: adminPassword }, maxRedirects: 0 });
  expect([200, 303]).toContain(login.status());
  const cookies = await setup.cookies();
  const id = `first-load-${Date.now().toString(36)}`;
  const created = await setup.request.post('./api/devices', { data: { client_id: id, name: 'First load' } });
  expect(created.status()).toBe(201);
  const { mqtt_password: password } = await created.json();
  const broker = new URL('mqtt', baseURL);
  broker.protocol = 'ws:';
  const scale = await mqtt.connectAsync(broker.toString(), { clientId: id, username: id, password, protocolVersion: 4 });
  // A finished shot to open, then a scale that keeps brewing while pages load.
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < 300; i++) await scale.publishAsync(`wages/devices/${id}/readings`, line(id, 'shot', t0 + i * 100, i / 10), { qos: 1 });
  let n = 0;
  const brewing = setInterval(() => {
    n += 1;
    scale.publish(`wages/devices/${id}/readings`, line(id, 'now', Date.now(), (n % 400) / 10), { qos: 1 });
  }, 100);
  const pages = [
    { name: 'dashboard', url: new URL('./', baseURL).toString(), live: true },
    { name: "a scale's live page", url: new URL(`./devices/${id}`, baseURL).toString(), live: true },
    { name: 'a shot', url: new URL(`./devices/${id}/sessions/shot`, baseURL).toString(), live: false },
  ];
  const rows: string[] = [];
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  const s = (ms: number | null) => (ms === null || Number.isNaN(ms) ? '–' : `${(ms / 1000).toFixed(2)} s`);
  try {
    for (const p of pages) {
      for (const profile of profiles) {
        const [first, again] = await load(browser, cookies, p.url, profile, p.live);
        rows.push(`| ${p.name} | ${profile.name} | ${kb(first.bytes)} | ${kb(first.assets)} | ${kb(first.wasm)} | ${first.requests} | ${s(first.fcp)} | ${s(first.hydrated)} | ${s(first.live)} | ${kb(again)} |`);
        console.log(rows[rows.length - 1]);
      }
    }
  } finally {
    clearInterval(brewing);
    await scale.endAsync();
    await setup.close();
  }
  console.log(`\n| page | profile | moved | of it WASM, JS, CSS | of it WASM | requests until live | first paint | hydrated | live | moved again |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}`);
});
