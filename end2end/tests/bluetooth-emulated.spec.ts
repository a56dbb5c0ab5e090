import { test, expect, hydrated, screenshot } from './fixtures';

/**
 * Discovery and GATT for real: Chromium's own Web Bluetooth stack (switched on by its
 * experimental web platform features) against a peripheral emulated through the
 * DevTools protocol (`BluetoothEmulation`), picked in the browser's own device chooser
 * (`DeviceAccess`). It cannot deliver notifications, so this checks what the page finds
 * and writes: the family from the services, the greeting, the keep-alive and the tare.
 */
test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-experimental-web-platform-features'],
  },
});

test('pairs through the chooser, finds the newer protocol by its services, greets and tares the scale', async ({ page, browser }, info) => {
  test.setTimeout(60_000);
  const id = `bt-pyxis-${Date.now().toString(36)}-${info.project.name}`;
  const address = '0A:CA:1A:00:00:01';
  const service = '49535343-fe7d-4ae5-8fa9-9fafd205e455';
  const bluetooth = await browser.newBrowserCDPSession();
  await bluetooth.send('BluetoothEmulation.enable', { state: 'powered-on', leSupported: true });
  await bluetooth.send('BluetoothEmulation.simulatePreconnectedPeripheral', {
    address, name: 'PYXIS-123456', manufacturerData: [], knownServiceUuids: [service],
  });
  const { serviceId } = await bluetooth.send('BluetoothEmulation.addService', { address, serviceUuid: service });
  const { characteristicId: notifyId } = await bluetooth.send('BluetoothEmulation.addCharacteristic', {
    serviceId, characteristicUuid: '49535343-1e4d-4bd9-ba61-23c647249616', properties: { notify: true },
  });
  await bluetooth.send('BluetoothEmulation.addDescriptor', { characteristicId: notifyId, descriptorUuid: '00002902-0000-1000-8000-00805f9b34fb' });
  await bluetooth.send('BluetoothEmulation.addCharacteristic', {
    serviceId, characteristicUuid: '49535343-8841-43f4-a8d4-ecbe34729bb3', properties: { write: true, writeWithoutResponse: true },
  });
  const written: string[] = [];
  bluetooth.on('BluetoothEmulation.gattOperationReceived', (e) => {
    bluetooth.send('BluetoothEmulation.simulateGATTOperationResponse', { address, type: e.type, code: 0 }).catch(() => {});
  });
  bluetooth.on('BluetoothEmulation.descriptorOperationReceived', (e) => {
    bluetooth.send('BluetoothEmulation.simulateDescriptorOperationResponse', { descriptorId: e.descriptorId, type: e.type, code: 0 }).catch(() => {});
  });
  bluetooth.on('BluetoothEmulation.characteristicOperationReceived', (e) => {
    if (e.type === 'write' && e.data) written.push(Buffer.from(e.data, 'base64').toString('hex'));
    bluetooth.send('BluetoothEmulation.simulateCharacteristicOperationResponse', { characteristicId: e.characteristicId, type: e.type, code: 0 }).catch(() => {});
  });
  const chooser = await page.context().newCDPSession(page);
  await chooser.send('DeviceAccess.enable');
  let chosen = false;
  chooser.on('DeviceAccess.deviceRequestPrompted', (e) => {
    if (chosen || !e.devices.length) return;
    chosen = true;
    chooser.send('DeviceAccess.selectPrompt', { id: e.id, deviceId: e.devices[0].id }).catch(() => {});
  });

  await page.goto(`./bluetooth?scale=${id}`);
  await hydrated(page);
  await expect(page.getByTestId('bt-unsupported')).toHaveCount(0);
  await page.getByTestId('bt-pair').click();
  await expect(page.getByTestId('bt-state')).toHaveText('connected');
  await expect(page.getByTestId('bt-name')).toHaveText('PYXIS-123456');
  await expect(page.getByText('Acaia (Pyxis, Pearl S, Lunar 2021, Cinco)')).toBeVisible();
  // The greeting, byte for byte as AcaiaArduinoBLE sends it: identify, then ask for events.
  const identify = 'efdd0b303132333435363738393031323334' + '9a6d';
  await expect.poll(() => written.slice(0, 2)).toEqual([identify, 'efdd0c0900010102020503041506']);
  // The keep-alive, every second: identify, heartbeat, ask for settings.
  await expect.poll(() => written.filter((w) => w === 'efdd0002000200').length, { timeout: 5_000 }).toBeGreaterThan(1);
  await page.getByTestId('bt-tare').click();
  await expect.poll(() => written).toContain('efdd04000000');
  await screenshot(page, info.project.name, 'bluetooth-paired');
});
