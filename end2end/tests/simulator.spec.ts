import { test, expect, hydrated, screenshot } from './fixtures';

test('browser tabs act as scales: brew live, keep their count, take firmware, go offline', async ({ browser, request, baseURL }, info) => {
  test.setTimeout(60_000);
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const ids = [`sim-a-${stamp}`, `sim-b-${stamp}`];
  for (const id of ids) {
    expect((await request.post('./api/devices', { data: { client_id: id, name: `Tab ${id.slice(4, 5).toUpperCase()}` } })).status()).toBe(201);
  }
  const context = await browser.newContext({ baseURL, storageState: info.project.use.storageState });
  const [tabA, tabB, watcher] = [await context.newPage(), await context.newPage(), await context.newPage()];
  for (const [tab, id] of [[tabA, ids[0]], [tabB, ids[1]]] as const) {
    await tab.goto(`./simulator/${id}?seconds=3`);
    await hydrated(tab);
    await expect(tab.getByTestId('sim-connection')).toHaveText('online');
  }
  // The tabs announced themselves: online, with their firmware.
  for (const id of ids) {
    await expect.poll(async () => (await (await request.get(`./api/devices/${id}`)).json()).online).toBe(true);
  }

  // Brew in tab A while its device page is open: the graph draws it.
  await watcher.goto(`./devices/${ids[0]}`);
  await hydrated(watcher);
  await tabA.getByTestId('sim-brew').click();
  await expect(tabA.getByTestId('sim-brew')).toHaveText('Brewing…');
  await expect(watcher.getByTestId('live-graph')).toHaveAttribute('data-points', '30', { timeout: 15_000 });
  await expect(tabA.getByTestId('sim-sent')).toHaveText('30');
  await expect(tabA.getByTestId('sim-brew')).toHaveText('Brew');
  await tabA.getByTestId('sim-one').click();
  await expect(tabA.getByTestId('sim-sent')).toHaveText('31');
  await screenshot(tabA, info.project.name, 'simulator');

  // A reload keeps the count: it is what the server has stored for the scale.
  await tabA.reload();
  await hydrated(tabA);
  await expect(tabA.getByTestId('sim-sent')).toHaveText('31');
  await expect(tabA.getByTestId('sim-connection')).toHaveText('online');
  // So does another browser, which has none of this tab's storage.
  const other = await browser.newContext({ baseURL, storageState: info.project.use.storageState });
  const elsewhere = await other.newPage();
  await elsewhere.goto(`./simulator/${ids[0]}`);
  await expect(elsewhere.getByTestId('sim-sent')).toHaveText('31');
  await other.close();

  // A firmware offer reaches both tabs; both install it; the rollout shows them updated.
  const version = `3.0.${Date.now()}`;
  const offered = await request.post('./api/firmware', {
    data: { version, url: `https://firmware.example/${version}.bin`, sha256: 'ab'.repeat(32) },
  });
  expect(offered.status()).toBe(201);
  for (const tab of [tabA, tabB]) {
    await expect(tab.getByTestId('sim-offer')).toContainText(version);
    await tab.getByTestId('sim-install').click();
    await expect(tab.getByTestId('sim-firmware')).toHaveText(version);
  }
  await watcher.goto('./firmware');
  await hydrated(watcher);
  for (const id of ids) {
    await expect(watcher.locator(`tr[data-client-id="${id}"]`)).toHaveAttribute('data-state', 'updated');
  }
  await screenshot(watcher, info.project.name, 'firmware-rollout');

  // Closing tab B drops its connection: the broker publishes its last will.
  await tabB.close();
  await expect.poll(async () => (await (await request.get(`./api/devices/${ids[1]}`)).json()).online, { timeout: 15_000 }).toBe(false);
  await context.close();
});

test('a tab sends its readings as JSON or Protobuf when told to', async ({ page, request }, info) => {
  const id = `sim-forms-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Forms' } })).status()).toBe(201);
  await page.goto(`./simulator/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('sim-connection')).toHaveText('online');
  for (const [form, sent] of [['json', '1'], ['protobuf', '2']] as const) {
    await page.getByLabel('Payload form').selectOption(form);
    await page.getByTestId('sim-one').click();
    await expect(page.getByTestId('sim-sent')).toHaveText(sent);
  }
  // Both stored: two single-reading sessions.
  await expect
    .poll(async () => (await (await request.get(`./api/devices/${id}/sessions`)).json()).length)
    .toBe(2);
  await screenshot(page, info.project.name, 'simulator-forms');
});

test('a tab brewing on an espresso machine: its pressure and temperatures draw live, then stay with the shot', async ({ browser, request, baseURL }, info) => {
  test.setTimeout(60_000);
  const id = `sim-de1-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Machine' } })).status()).toBe(201);
  const context = await browser.newContext({ baseURL, storageState: info.project.use.storageState });
  const [tab, watcher] = [await context.newPage(), await context.newPage()];
  await tab.goto(`./simulator/${id}?seconds=4`);
  await hydrated(tab);
  await expect(tab.getByTestId('sim-connection')).toHaveText('online');
  await watcher.goto(`./devices/${id}`);
  await hydrated(watcher);
  const live = watcher.getByTestId('live-machine-graph');
  // A scale without a machine shows no machine card.
  await expect(live).toBeHidden();
  await tab.getByTestId('sim-machine').check();
  for (const form of ['text', 'protobuf'] as const) {
    await tab.getByLabel('Payload form').selectOption(form);
    await tab.getByTestId('sim-brew').click();
    await expect(tab.getByTestId('sim-brew')).toHaveText('Brew', { timeout: 20_000 });
    await expect(watcher.getByTestId('live-graph')).toHaveAttribute('data-points', '40', { timeout: 15_000 });
    await expect(live).toBeVisible();
    await expect(live).toHaveAttribute('data-series', 'pressure flow water_temperature basket_temperature water_dispensed');
  }
  // A reload while the shot is still live (its last reading under 10 s old) draws the
  // machine's curves from storage.
  await watcher.reload();
  await hydrated(watcher);
  await expect(watcher.getByTestId('live-graph')).toHaveAttribute('data-points', '40', { timeout: 15_000 });
  await expect(live).toHaveAttribute('data-series', 'pressure flow water_temperature basket_temperature water_dispensed');
  // Each curve can be hidden on the live graph too.
  const drawn = () => live.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const before = await drawn();
  const pressure = watcher.locator('.machine-series label[data-series="pressure"] input');
  await pressure.uncheck();
  await expect.poll(drawn).not.toBe(before);
  await pressure.check();
  await screenshot(watcher, info.project.name, 'device-live-machine');
  // On a phone and a tablet the machine's card and its boxes fit the screen's width.
  for (const [width, height, name] of [[390, 844, 'phone'], [820, 1180, 'tablet']] as const) {
    await watcher.setViewportSize({ width, height });
    await expect.poll(() => watcher.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    await live.scrollIntoViewIfNeeded();
    await expect(live).toBeVisible();
    await screenshot(watcher, info.project.name, `${name}-device-live-machine`);
  }
  await watcher.setViewportSize({ width: 1280, height: 720 });
  // The shot keeps them: its page draws them from its series.
  const sessions = await (await request.get(`./api/devices/${id}/sessions`)).json();
  await watcher.goto(`./devices/${id}/sessions/${sessions[0].session_id}`);
  await hydrated(watcher);
  await expect(watcher.getByTestId('machine-graph')).toHaveAttribute('data-series', 'pressure flow water_temperature basket_temperature water_dispensed');
  await screenshot(watcher, info.project.name, 'shot-machine-from-mqtt');
  await context.close();
});
