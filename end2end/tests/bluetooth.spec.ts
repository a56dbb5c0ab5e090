import { test, expect, hydrated, screenshot } from './fixtures';
import { Page } from '@playwright/test';

/**
 * The Bluetooth bridge page against a stand-in for `navigator.bluetooth`, at the
 * browser-API boundary only: `requestDevice` offers one scale, whose GATT server lists
 * the family's service, and whose notify characteristic delivers the byte sequences the
 * test replays, laid out as each family's protocol document or open-source driver says
 * (docs/scales.md). Everything past that boundary is the product: the decoders, the
 * shot watcher, the MQTT link, the waiting readings, the server.
 *
 * The stand-in also wraps `WebSocket`, so a test can cut the tab's network mid-shot
 * (every open socket closed, new ones failing) and bring it back.
 */
function standIn(scale: { name: string; service: string; notify: string; write: string }) {
  const w = window as any;
  const writes: number[][] = [];
  let listeners: ((e: any) => void)[] = [];
  const dropListeners: ((e: any) => void)[] = [];
  const characteristic = (uuid: string) => ({
    uuid,
    properties: { writeWithoutResponse: true, notify: true },
    startNotifications: async () => undefined,
    addEventListener: (type: string, f: (e: any) => void) => {
      if (type === 'characteristicvaluechanged') listeners.push(f);
    },
    removeEventListener: (type: string, f: (e: any) => void) => {
      if (type === 'characteristicvaluechanged') listeners = listeners.filter((l) => l !== f);
    },
    writeValueWithoutResponse: async (data: Uint8Array) => {
      writes.push(Array.from(data));
    },
    writeValueWithResponse: async (data: Uint8Array) => {
      writes.push(Array.from(data));
    },
  });
  const service = {
    uuid: scale.service,
    getCharacteristic: async (uuid: string) => characteristic(uuid),
  };
  const server = {
    connected: true,
    getPrimaryServices: async () => [service],
    getPrimaryService: async (uuid: string) => {
      if (uuid !== scale.service) throw new Error(`no service ${uuid}`);
      return service;
    },
  };
  const device = {
    name: scale.name,
    gatt: { connect: async () => server },
    addEventListener: (type: string, f: (e: any) => void) => {
      if (type === 'gattserverdisconnected') dropListeners.push(f);
    },
  };
  Object.defineProperty(navigator, 'bluetooth', {
    value: { requestDevice: async () => device },
    configurable: true,
  });
  w.__scale = {
    writes,
    notify(bytes: number[]) {
      const buffer = new Uint8Array(bytes).buffer;
      const value = new DataView(buffer);
      for (const f of listeners) f({ target: { value } });
    },
    drop() {
      for (const f of dropListeners) f({});
    },
    listening: () => listeners.length,
  };
  // The network, cut and restored by the test.
  const Real = window.WebSocket;
  const sockets: WebSocket[] = [];
  w.__network = {
    offline: false,
    cut() {
      this.offline = true;
      for (const s of sockets) s.close();
    },
    restore() {
      this.offline = false;
    },
  };
  w.WebSocket = function (url: string, protocols?: string | string[]) {
    const socket = new Real(w.__network.offline ? 'ws://127.0.0.1:9/offline' : url, protocols);
    sockets.push(socket);
    return socket;
  } as any;
  w.WebSocket.prototype = Real.prototype;
  Object.assign(w.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
}

const DECENT = {
  name: 'Decent Scale',
  service: '0000fff0-0000-1000-8000-00805f9b34fb',
  notify: '0000fff4-0000-1000-8000-00805f9b34fb',
  write: '000036f5-0000-1000-8000-00805f9b34fb',
};
const BOOKOO = {
  name: 'BOOKOO_SC 0A1B',
  service: '00000ffe-0000-1000-8000-00805f9b34fb',
  notify: '0000ff11-0000-1000-8000-00805f9b34fb',
  write: '0000ff12-0000-1000-8000-00805f9b34fb',
};

const FELICITA = {
  name: 'FELICITA',
  service: '0000ffe0-0000-1000-8000-00805f9b34fb',
  notify: '0000ffe1-0000-1000-8000-00805f9b34fb',
  write: '0000ffe1-0000-1000-8000-00805f9b34fb',
};
const ACAIA_OLD = {
  name: 'ACAIA123456',
  service: '00001820-0000-1000-8000-00805f9b34fb',
  notify: '00002a80-0000-1000-8000-00805f9b34fb',
  write: '00002a80-0000-1000-8000-00805f9b34fb',
};

/** A Felicita status: the sample in Beanconqueror's Felicita notes with other digits. */
function felicitaStatus(grams: number, battery: number): number[] {
  const digits = String(Math.round(grams * 100)).padStart(6, '0').split('').map((d) => d.charCodeAt(0));
  return [1, 2, 43, ...digits, 32, 103, 83, 79, 48, 34, battery, 13, 10];
}

/** An older Acaia's weight: `EF DD 0C` alone, then the rest (AcaiaArduinoBLE's layout). */
function acaiaOldWeight(grams: number): number[][] {
  const tenths = Math.round(grams * 10);
  const payload = [0x08, 0x05, tenths & 0xff, tenths >> 8, 0x00, 0x00, 0x01, 0x00];
  const even = payload.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0) & 0xff;
  const odd = payload.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0) & 0xff;
  return [[0xef, 0xdd, 0x0c], [...payload, even, odd]];
}

const xor = (bytes: number[]) => bytes.reduce((a, b) => a ^ b, 0);

/** A Decent Scale weight notification (Decent's BLE API: tenths of a gram, big-endian). */
function decentWeight(grams: number, stable = false): number[] {
  const tenths = Math.round(grams * 10) & 0xffff;
  const m = [0x03, stable ? 0xce : 0xca, tenths >> 8, tenths & 0xff, 0x00, 0x00];
  return [...m, xor(m)];
}

/** A Bookoo weight message (Bookoo's protocol document: 20 bytes, XOR last). */
function bookooWeight(grams: number, millis: number): number[] {
  const hundredths = Math.round(Math.abs(grams) * 100);
  const m = [0x03, 0x0b, (millis >> 16) & 0xff, (millis >> 8) & 0xff, millis & 0xff, 0x00, grams < 0 ? 0x2d : 0x2b,
    (hundredths >> 16) & 0xff, (hundredths >> 8) & 0xff, hundredths & 0xff, 0x2b, 0x00, 0x90, 0x57, 0x00, 0x05, 0x01, 0x00, 0x00];
  return [...m, xor(m)];
}

/** Bookoo's automatic timer: `03 0D 01` started, `03 0D 00` stopped. */
function bookooTimer(started: boolean): number[] {
  const m = [0x03, 0x0d, started ? 0x01 : 0x00, ...new Array(16).fill(0)];
  return [...m, xor(m)];
}

/** Plays `frames` into the scale's notifications, one every 100 ms, as a scale at 10 Hz. */
async function play(page: Page, frames: number[][]) {
  await page.evaluate(async (frames) => {
    for (const f of frames) {
      (window as any).__scale.notify(f);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, frames);
}

async function pairAs(page: Page, id: string) {
  await page.getByTestId('bt-pair').click();
  await expect(page.getByTestId('bt-state')).toHaveText('connected');
  await page.getByTestId('bt-use').click();
  await expect(page.getByTestId('bt-link')).toHaveText(`${id}: online`);
}

async function storedWeights(request: any, id: string): Promise<number[][]> {
  const sessions = await (await request.get(`./api/devices/${id}/sessions`)).json();
  const out: number[][] = [];
  for (const s of sessions) {
    const readings = await (await request.get(`./api/devices/${id}/sessions/${s.session_id}/readings`)).json();
    out.push(readings.map((r: any) => r.value));
  }
  return out;
}

// Debian's Chromium on Linux has no Web Bluetooth unless experimental web platform
// features are on: the page must say so plainly.
test('a browser without Web Bluetooth is told so, and what to use instead', async ({ page }) => {
  await page.goto('./bluetooth');
  await hydrated(page);
  await expect(page.getByTestId('bt-unsupported')).toContainText('no Web Bluetooth');
  await expect(page.getByTestId('bt-unsupported')).toContainText('Chrome or Edge on Android');
  await expect(page.getByTestId('bt-pair')).toBeDisabled();
});

test('a Decent Scale brews a shot through the tab, nothing lost across a network drop', async ({ page, request }, info) => {
  test.setTimeout(90_000);
  const id = `bt-decent-${Date.now().toString(36)}-${info.project.name}`;
  await page.addInitScript(standIn, DECENT);
  await page.goto(`./bluetooth?scale=${id}`);
  await hydrated(page);
  await pairAs(page, id);
  // A new id registered the scale, named after the Bluetooth scale.
  expect((await (await request.get(`./api/devices/${id}`)).json()).name).toBe('Decent Scale');
  // The greeting: LED on, asking for the heartbeat (Decent's documented bytes).
  expect(await page.evaluate(() => (window as any).__scale.writes[0])).toEqual([0x03, 0x0a, 0x01, 0x01, 0x00, 0x01, 0x08]);

  // Tare from the page writes Decent's tare command.
  await page.getByTestId('bt-tare').click();
  await expect.poll(() => page.evaluate(() => (window as any).__scale.writes.map((w: number[]) => w.join(',')))).toContain(
    [0x03, 0x0f, 0x00, 0x00, 0x00, 0x01, 0x0d].join(','),
  );

  // Drips after the tare: the shot starts by itself. 25 s of extraction to 36.4 g.
  const weights = [0, 0, 0, 0.4, 0.9, ...Array.from({ length: 60 }, (_, i) => Math.round((1.3 + i * 0.58) * 10) / 10)];
  await play(page, weights.slice(0, 30).map((g) => decentWeight(g)));
  await expect(page.getByTestId('bt-shot')).toHaveText('brewing');
  await expect(page.getByTestId('bt-weight')).toHaveText(`${weights[29].toFixed(1)} g`);
  // The network drops mid-shot: readings wait in the tab, then go once it is back.
  await page.evaluate(() => (window as any).__network.cut());
  await expect(page.getByTestId('bt-link')).not.toHaveText(`${id}: online`);
  await play(page, weights.slice(30, 45).map((g) => decentWeight(g)));
  await expect(page.getByTestId('bt-waiting')).not.toHaveText('0');
  await screenshot(page, info.project.name, 'bluetooth-waiting');
  await page.evaluate(() => (window as any).__network.restore());
  await play(page, weights.slice(45).map((g) => decentWeight(g)));
  // Settled for five seconds: the shot ends.
  const last = weights[weights.length - 1];
  await play(page, Array.from({ length: 50 }, () => decentWeight(last, true)));
  await expect(page.getByTestId('bt-shot')).toHaveText('waiting');
  await expect(page.getByTestId('bt-waiting')).toHaveText('0', { timeout: 15_000 });
  await screenshot(page, info.project.name, 'bluetooth');

  // Stored exactly: one session, every weight from the first rise on, in order, once.
  const stored = await storedWeights(request, id);
  expect(stored.length).toBe(1);
  const first = weights.findIndex((g) => g >= 1.0);
  const shot = stored[0];
  expect(shot.slice(0, weights.length - first)).toEqual(weights.slice(first));
  expect(shot.slice(weights.length - first).every((g) => g === last)).toBe(true);
  await expect(page.getByTestId('bt-stored')).toHaveText(String(shot.length));
  // At the bar: a phone and a tablet.
  for (const [name, width, height] of [['phone', 390, 844], ['tablet', 820, 1180]] as const) {
    await page.setViewportSize({ width, height });
    await screenshot(page, info.project.name, `bluetooth-${name}`);
  }
});

test('a Bookoo scale starts the shot with its own timer; the target stops it', async ({ page, request }, info) => {
  test.setTimeout(60_000);
  const id = `bt-bookoo-${Date.now().toString(36)}-${info.project.name}`;
  expect((await request.post('./api/devices', { data: { client_id: id, name: 'Bar Bookoo' } })).status()).toBe(201);
  expect((await request.put(`./api/devices/${id}/recipe`, { data: { dose: 10, target_yield: 20 } })).status()).toBe(200);
  await page.addInitScript(standIn, BOOKOO);
  await page.goto(`./bluetooth?scale=${id}`);
  await hydrated(page);
  await pairAs(page, id);
  await expect(page.getByTestId('bt-name')).toHaveText(BOOKOO.name);
  await play(page, [bookooWeight(0, 0)]);
  await expect(page.getByTestId('bt-battery')).toHaveText('87 %');
  await expect(page.getByTestId('bt-countdown')).toHaveText('20.0 g');
  // The scale's automatic timer starts it; the countdown follows the weight.
  await play(page, [bookooTimer(true)]);
  await expect(page.getByTestId('bt-shot')).toHaveText('brewing');
  const weights = Array.from({ length: 30 }, (_, i) => Math.round(i * 0.95 * 100) / 100);
  await play(page, weights.slice(0, 10).map((g, i) => bookooWeight(g, i * 100)));
  await expect(page.getByTestId('bt-countdown')).toHaveText(`${(20 - weights[9]).toFixed(1)} g`);
  // At the target the tab stops the scale's timer (Bookoo's documented stop command)
  // and the shot: what comes after is not part of it.
  await play(page, weights.slice(10).map((g, i) => bookooWeight(g, (i + 10) * 100)));
  await expect(page.getByTestId('bt-shot')).toHaveText('waiting');
  // The scale then reports its timer stopped: nothing more happens.
  await play(page, [bookooTimer(false)]);
  const written = await page.evaluate(() => (window as any).__scale.writes.map((w: number[]) => w.join(',')));
  expect(written).toContain([0x03, 0x0a, 0x05, 0x00, 0x00, 0x0d].join(','));
  await expect(page.getByTestId('bt-waiting')).toHaveText('0');
  const reached = weights.findIndex((g) => g >= 20);
  expect(await storedWeights(request, id)).toEqual([weights.slice(0, reached + 1)]);
  // The existing scale kept its name.
  expect((await (await request.get(`./api/devices/${id}`)).json()).name).toBe('Bar Bookoo');
});

test('a Felicita and an older Acaia show their weight live', async ({ page }, info) => {
  await page.addInitScript(standIn, FELICITA);
  await page.goto('./bluetooth');
  await hydrated(page);
  await page.getByTestId('bt-pair').click();
  await expect(page.getByTestId('bt-state')).toHaveText('connected');
  await expect(page.getByText('Felicita (Arc, Incline, Parallel)')).toBeVisible();
  await play(page, [felicitaStatus(18.26, 152)]);
  await expect(page.getByTestId('bt-weight')).toHaveText('18.3 g');
  await expect(page.getByTestId('bt-battery')).toHaveText('79 %');
  // The Bluetooth link drops: the tab connects again by itself, listening once.
  await page.evaluate(() => (window as any).__scale.drop());
  await expect(page.getByTestId('bt-state')).toHaveText('connected');
  await play(page, [felicitaStatus(20.5, 152)]);
  await expect(page.getByTestId('bt-weight')).toHaveText('20.5 g');
  expect(await page.evaluate(() => (window as any).__scale.listening())).toBe(1);
  // Felicita's tare is the single byte 'T'.
  await page.getByTestId('bt-tare').click();
  await expect.poll(() => page.evaluate(() => (window as any).__scale.writes.map((w: number[]) => w.join(',')))).toContain('84');

  const acaia = await page.context().newPage();
  await acaia.addInitScript(standIn, ACAIA_OLD);
  await acaia.goto('./bluetooth');
  await hydrated(acaia);
  await acaia.getByTestId('bt-pair').click();
  await expect(acaia.getByTestId('bt-state')).toHaveText('connected');
  await expect(acaia.getByText('Acaia (Lunar before 2021, Pearl)')).toBeVisible();
  await play(acaia, acaiaOldWeight(41.0));
  await expect(acaia.getByTestId('bt-weight')).toHaveText('41.0 g');
  await screenshot(acaia, info.project.name, 'bluetooth-acaia');
});

test('readings waiting when the tab is closed are sent on its next visit', async ({ page, request }, info) => {
  test.setTimeout(60_000);
  const id = `bt-kept-${Date.now().toString(36)}-${info.project.name}`;
  await page.addInitScript(standIn, DECENT);
  await page.goto(`./bluetooth?scale=${id}`);
  await hydrated(page);
  await pairAs(page, id);
  await page.getByTestId('bt-start').click();
  await expect(page.getByTestId('bt-shot')).toHaveText('brewing');
  await page.evaluate(() => (window as any).__network.cut());
  const weights = Array.from({ length: 12 }, (_, i) => 2 + i);
  await play(page, weights.map((g) => decentWeight(g)));
  await expect(page.getByTestId('bt-waiting')).toHaveText('12');
  expect(await storedWeights(request, id)).toEqual([]);

  // The tab goes (a reload here); the next visit, network back, sends what waited.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('bt-link')).toHaveText(`${id}: online`);
  await expect(page.getByTestId('bt-waiting')).toHaveText('0');
  await expect(page.getByTestId('bt-stored')).toHaveText('12');
  expect(await storedWeights(request, id)).toEqual([weights]);
});

test('a scale id that cannot be one is refused in words, and nothing is registered', async ({ page, request }) => {
  await page.addInitScript(standIn, DECENT);
  // A bad id in the address is not taken up.
  await page.goto(`./bluetooth?scale=${encodeURIComponent('../bar left!')}`);
  await hydrated(page);
  await expect(page.getByTestId('bt-scale')).toHaveValue('');
  const before = (await (await request.get('./api/devices')).json()).length;
  for (const bad of ['bar left!', '', 'x'.repeat(65)]) {
    await page.getByTestId('bt-scale').fill(bad);
    await page.getByTestId('bt-use').click();
    await expect(page.getByTestId('bt-problem')).toContainText('letters, digits, - and _');
    await expect(page.getByTestId('bt-link')).toHaveText('');
  }
  expect((await (await request.get('./api/devices')).json()).length).toBe(before);
});
