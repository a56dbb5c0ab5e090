import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { test, expect, hydrated, screenshot, basePath } from './fixtures';
import { adminPassword } from './auth-state';
import { publishReadings, line } from './mqtt';

const workspace = path.resolve(__dirname, '..', '..');

/** The page's problems but the browser's own line for a file the server refused (409, 422): expected here. */
const unexpected = (problems: string[]) =>
  problems.filter((p) => !/Failed to load resource: the server responded with a status of (409|422)/.test(p));

/** A free TCP port on the loopback. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A Wages of its own with an empty database, under the same base path; stopped by the caller. */
async function freshServer(base: string): Promise<{ url: string; process: ChildProcess; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wages-fresh-'));
  const port = await freePort();
  const child = spawn(process.env.WAGES_BIN ?? path.join(workspace, 'target/release/wages'), [], {
    cwd: workspace,
    stdio: 'ignore',
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(workspace, 'target/site'),
      WAGES_BASE_PATH: base,
      WAGES_DATABASE_URL: `sqlite://${dir}/fresh.db`,
      WAGES_MQTT_LISTEN: '0',
      WAGES_ADMIN_PASSWORD: adminPassword,
      WAGES_LOG: 'warn',
    },
  });
  const url = `http://127.0.0.1:${port}${base}/`;
  await expect.poll(async () => fetch(`${url}healthz`).then((r) => r.status).catch(() => 0), { timeout: 30_000 }).toBe(200);
  return { url, process: child, dir };
}

test('a shot goes out as a Beanconqueror file and into a fresh Wages as the same shot', async ({ page, browser, request, baseURL, problems }, info) => {
  test.setTimeout(90_000);
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const id = `out-${stamp}`;
  const roaster = `Roaster ${stamp}`;
  // A shot with beans, a recipe, a taste and tags.
  const beans = await (await request.post('./api/beans', { data: { roaster, name: 'Kochere', origin: 'Ethiopia', roast_date: '2026-11-18' } })).json();
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Bar, left group' } })).status()).toBe(201);
  expect((await request.put(`./api/devices/${id}/recipe`, { data: { method: 'pour-over', beans_id: beans.id, grinder: 'Ode', grind_setting: '5.1', dose: 15, target_yield: 250 } })).status()).toBe(200);
  const start = Date.now() - 600_000;
  const pour = Array.from({ length: 120 }, (_, i) => line(id, 'v60', start + i * 500, Math.round(Math.min(i * 2.2, 250) * 100) / 100)).join('\n');
  await publishReadings(baseURL!, id, [pour]);
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions/v60`)).json().then((s) => s.count)).toBe(120);
  const taste = { rating: 91, tags: ['guest', stamp], notes: 'Jasmine, bergamot', tds: 1.38, water_temp: 94, starred: true };
  expect((await request.patch(`./api/devices/${id}/sessions/v60`, { data: taste })).status()).toBe(200);
  const original = await (await request.get(`./api/devices/${id}/sessions/v60`)).json();

  // Out: the shot page's Beanconqueror link downloads the file.
  await page.goto(`./devices/${id}/sessions/v60`);
  await hydrated(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-beanconqueror').click()]);
  expect(download.suggestedFilename()).toBe(`${id}-v60.beanconqueror.json`);
  const file = path.join(info.outputDir, download.suggestedFilename());
  await download.saveAs(file);
  const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(exported.bean.roaster).toBe(roaster);
  expect(exported.brewFlow.weight).toHaveLength(120);

  // In: a fresh Wages, logged in as a person does, one scale, the import page.
  const fresh = await freshServer(basePath(baseURL));
  const context = await browser.newContext({ baseURL: fresh.url });
  try {
    const other = await context.newPage();
    await other.goto('./shots/import');
    await expect(other).toHaveURL(/\/login\?next=/);
    await other.getByLabel('Password').fill(adminPassword);
    await other.getByRole('button', { name: 'Log in' }).click();
    await expect(other.getByRole('heading', { name: 'Import a shot' })).toBeVisible();
    expect((await context.request.post('./api/devices', { data: { client_id: 'home-1', name: 'Kitchen' } })).status()).toBe(201);
    await other.reload();
    await hydrated(other);
    // A file that is not a shot: refused, said by field, nothing stored.
    const junk = path.join(info.outputDir, 'junk.json');
    fs.writeFileSync(junk, JSON.stringify({ brew: { config: { unix_timestamp: 1764664200 } }, brewFlow: { weight: [{ timestamp: '08:30:00.000', actual_weight: 'lots' }] } }));
    await other.getByTestId('import-scale').selectOption('home-1');
    await other.getByTestId('import-file').setInputFiles(junk);
    await other.getByTestId('import-submit').click();
    await expect(other.getByTestId('import-error')).toHaveText('brewFlow.weight[0].actual_weight must be a weight in grams between -10000 and 100000');
    await expect(other.getByTestId('import-scale')).toHaveValue('home-1');
    expect(await (await context.request.get('./api/devices/home-1/sessions')).json()).toEqual([]);
    await screenshot(other, info.project.name, 'shot-import');
    // The exported file: the same shot, on the new scale.
    await other.getByTestId('import-file').setInputFiles(file);
    await other.getByTestId('import-submit').click();
    await expect(other).toHaveURL(/\/devices\/home-1\/sessions\/v60$/);
    await hydrated(other);
    await expect(other.getByTestId('session-graph')).toHaveAttribute('data-points', '120');
    const imported = await (await context.request.get('./api/devices/home-1/sessions/v60')).json();
    for (const field of ['started_at', 'ended_at', 'count', 'final_weight', 'peak_flow', 'method', 'grinder', 'grind_setting', 'dose', 'target_yield', 'rating', 'notes', 'tags', 'starred', 'tds', 'water_temp', 'ratio', 'days_off_roast']) {
      expect(imported[field], field).toEqual(original[field]);
    }
    expect([imported.beans.roaster, imported.beans.name, imported.beans.origin]).toEqual([roaster, 'Kochere', 'Ethiopia']);
    await other.goto(`./shots?tag=${stamp}`);
    await expect(other.locator('[data-testid="shots"] tbody tr')).toHaveCount(1);
  } finally {
    await context.close();
    fresh.process.kill('SIGTERM');
    fs.rmSync(fresh.dir, { recursive: true, force: true });
  }
  expect(unexpected(problems)).toEqual([]);
});

test('a Decent DE1 shot file comes in through the import page with its pressure, flow and temperatures', async ({ page, request, problems }, info) => {
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const id = `de1-${stamp}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Decent' } })).status()).toBe(201);
  // A .shot file as the DE1 app wrote it (the store's fixtures; Visualizer.coffee's test file).
  const file = path.join(workspace, 'store/tests/fixtures/shot_files/20210921T085910.shot');
  await page.goto('./shots/import');
  await hydrated(page);
  await page.getByTestId('import-scale').selectOption(id);
  await page.getByTestId('import-file').setInputFiles(file);
  await page.getByTestId('import-submit').click();
  await expect(page).toHaveURL(new RegExp(`/devices/${id}/sessions/de1-1632207550$`));
  await hydrated(page);
  await expect(page.getByTestId('session-graph')).toHaveAttribute('data-points', '100');
  const machine = page.getByTestId('machine-graph');
  await expect(machine).toHaveAttribute('data-series', 'pressure flow water_temperature basket_temperature water_dispensed');
  // Each curve can be hidden: the graph is drawn again without it.
  const drawn = () => machine.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  await expect.poll(drawn).not.toBe('');
  const before = await drawn();
  const pressure = page.locator('.machine-series label[data-series="pressure"] input');
  await pressure.uncheck();
  await expect(pressure).not.toBeChecked();
  await expect.poll(drawn).not.toBe(before);
  await pressure.check();
  await expect.poll(drawn).toBe(before);
  await screenshot(page, info.project.name, 'shot-machine');
  // On a phone: the curves and their switches fit the screen's width.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.getByRole('heading', { name: 'Machine' }).scrollIntoViewIfNeeded();
  await screenshot(page, info.project.name, 'phone-shot-machine');
  await page.setViewportSize({ width: 1280, height: 720 });
  // Beside another DE1 shot (through the API this time): the machines' figures side by side.
  const other = fs.readFileSync(path.join(workspace, 'store/tests/fixtures/shot_files/20211019T100744.shot'));
  const imported = await request.post(`./api/shots/import?scale=${id}`, { data: other, headers: { 'content-type': 'text/plain' } });
  expect(imported.status()).toBe(201);
  await page.goto(`./devices/${id}/sessions/de1-1632207550?compare=${id}/de1-1634630864`);
  await hydrated(page);
  const peak = page.getByTestId('compare-table').locator('tr', { hasText: 'Peak bar' }).locator('td');
  await expect(peak).toHaveCount(2);
  await expect(peak.first()).toHaveText(/^\d+\.\d$/);
  await expect(page.getByTestId('compare-table').locator('tr', { hasText: 'Water °C' }).locator('td')).toHaveCount(2);
  // The same file again is the same shot, not two.
  await page.goto('./shots/import');
  await hydrated(page);
  await page.getByTestId('import-scale').selectOption(id);
  await page.getByTestId('import-file').setInputFiles(file);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-error')).toContainText('already has a session de1-1632207550');
  expect(await (await request.get(`./api/devices/${id}/sessions`)).json()).toHaveLength(2);
  expect(unexpected(problems)).toEqual([]);
});

test('many shot files at once, or a folder of them: a progress bar, then what came in, what was there, what was refused and why', async ({ page, request, problems }, info) => {
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const id = `many-${stamp}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'History' } })).status()).toBe(201);
  const fixtures = path.join(workspace, 'store/tests/fixtures/shot_files');
  // A folder as a machine's history leaves it: shots, the same shot twice, and a file that is none.
  const folder = path.join(info.outputDir, 'history');
  fs.mkdirSync(folder, { recursive: true });
  for (const name of ['20210921T085910.shot', '20211019T100744.shot', 'gaggiuino-1020.json', 'sharebrew_tsp.csv', 'invalid_file.something']) {
    fs.copyFileSync(path.join(fixtures, name), path.join(folder, name));
  }
  fs.copyFileSync(path.join(fixtures, '20211019T100744.json'), path.join(folder, 'same-shot-as-json.json'));
  await page.goto('./shots/import');
  await hydrated(page);
  await page.getByTestId('import-scale').selectOption(id);
  await page.getByTestId('import-folder').setInputFiles(folder);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-summary')).toHaveText('6 of 6 files: 4 imported, 1 already there, 1 refused');
  await expect(page.getByTestId('import-progress')).toHaveAttribute('value', '6');
  const refused = page.locator('[data-testid="import-results"] li[data-outcome="refused"]');
  await expect(refused).toHaveText('invalid_file.something: file is not a shot file Wages reads: a Beanconqueror brew, a Visualizer shot, a Decent DE1 .shot or JSON shot, a pyDE1 shot, a Gaggiuino, GaggiMate or Meticulous shot, a Smart Espresso Profiler / Pressensor CSV, or a Wages JSON or CSV export');
  await expect(page.locator('[data-testid="import-results"] li[data-outcome="there"]')).toHaveCount(1);
  await screenshot(page, info.project.name, 'shot-import-many');
  expect(await (await request.get(`./api/devices/${id}/sessions`)).json()).toHaveLength(4);
  // The same files picked again: all there already, nothing stored twice.
  await page.goto('./shots/import');
  await hydrated(page);
  await page.getByTestId('import-scale').selectOption(id);
  await page.getByTestId('import-file').setInputFiles(['20210921T085910.shot', 'gaggiuino-1020.json'].map((n) => path.join(fixtures, n)));
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-summary')).toHaveText('2 of 2 files: 0 imported, 2 already there, 0 refused');
  expect(await (await request.get(`./api/devices/${id}/sessions`)).json()).toHaveLength(4);
  expect(unexpected(problems)).toEqual([]);
});

test('a Beanconqueror export folder brings its whole history in one step', async ({ page, request, problems }, info) => {
  const stamp = `${Date.now().toString(36)}-${info.project.name}`;
  const id = `backup-${stamp}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Home' } })).status()).toBe(201);
  // The folder the Android app exports: the backup (here unpacked) and a brew's flow profile.
  const fixtures = path.join(workspace, 'store/tests/fixtures/beanconqueror_backup');
  const backup = fs.readFileSync(path.join(fixtures, 'BeanconquerorTestData.json'), 'utf8');
  const first: string = JSON.parse(backup).BREWS[0].config.uuid;
  const folder = path.join(info.outputDir, 'Beanconqueror_export');
  fs.mkdirSync(path.join(folder, 'brews'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'Beanconqueror.json'), backup);
  fs.copyFileSync(path.join(fixtures, 'BeanconquerorFlowTestData.json'), path.join(folder, 'brews', `${first}_flow_profile.json`));
  await page.goto('./shots/import');
  await hydrated(page);
  await page.getByTestId('import-scale').selectOption(id);
  await page.getByTestId('import-folder').setInputFiles(folder);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-summary')).toHaveText('1 of 1 files: 2000 imported, 0 already there, 0 refused', { timeout: 60_000 });
  await expect(page.locator('[data-testid="import-results"] li[data-outcome="backup"]')).toContainText('Beanconqueror.json: 2000 brews, 2000 imported');
  await screenshot(page, info.project.name, 'shot-import-backup');
  // The brew with a flow has its curve; its beans are in the library.
  await page.goto(`./devices/${id}/sessions/${first}`);
  await hydrated(page);
  await expect(page.getByTestId('final-weight')).toHaveText('43.1');
  await expect(page.getByTestId('machine-graph')).toBeVisible();
  const beans = await (await request.get('./api/beans')).json();
  expect(beans.map((b: { name: string }) => b.name)).toContain('Test');
  expect(unexpected(problems)).toEqual([]);
});

test('a simulator tab stops by weight at the recipe’s target', async ({ page, request }, info) => {
  test.setTimeout(60_000);
  const id = `stop-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Bar, right group' } })).status()).toBe(201);
  expect((await request.put(`./api/devices/${id}/recipe`, { data: { dose: 16, target_yield: 32 } })).status()).toBe(200);
  await page.goto(`./simulator/${id}?seconds=8`);
  await hydrated(page);
  await expect(page.getByTestId('sim-connection')).toHaveText('online');
  await expect(page.getByTestId('sim-target')).toContainText('target is 32.0 g');
  await page.getByTestId('sim-brew').click();
  await expect(page.getByTestId('sim-brew')).toHaveText('Brewing…');
  await expect(page.getByTestId('sim-brew')).toHaveText('Brew', { timeout: 20_000 });
  const sent = Number(await page.getByTestId('sim-sent').textContent());
  await expect.poll(async () => (await request.get(`./api/devices/${id}/sessions`)).json().then((s) => s[0]?.count ?? 0)).toBe(sent);
  const shot = (await (await request.get(`./api/devices/${id}/sessions`)).json())[0];
  // Without the target the tab brews to 36 g; stopping by weight lands near 32 g.
  expect(Math.abs(shot.final_weight - 32)).toBeLessThan(2);
  expect(shot.target_yield).toBe(32);
});
