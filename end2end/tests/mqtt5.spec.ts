import { test, expect } from './fixtures';
import mqtt from 'mqtt';
import { line } from './mqtt';

// MQTT.js, a client nobody here wrote, speaking MQTT 5 to the server's own broker over
// `{base}/mqtt`, as a scale's firmware might.
test('an MQTT 5 scale is told its receive maximum, its PUBACK means stored, and a refusal has a reason', async ({ request, baseURL }, info) => {
  const id = `five-${Date.now().toString(36)}-${info.project.name}`;
  const registered = await request.post('./api/devices', { data: { client_id: id, name: 'MQTT 5 scale' } });
  expect(registered.status()).toBe(201);
  const { mqtt_password: password } = await registered.json();
  const url = new URL('mqtt', baseURL!.endsWith('/') ? baseURL! : `${baseURL}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = mqtt.connect(url.toString(), { clientId: id, username: id, password, protocolVersion: 5, reconnectPeriod: 0 });
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  try {
    expect(connack.properties?.receiveMaximum).toBe(1000);
    for (let t = 1; t <= 5; t++) {
      await client.publishAsync(`wages/devices/${id}/readings`, line(id, 's', t, 18.5), { qos: 1 });
    }
    // Every PUBACK came once its reading was stored: the API has all five already.
    const shot = await (await request.get(`./api/devices/${id}/sessions/s`)).json();
    expect(shot.count).toBe(5);
    // Another scale's topic: refused with a reason code, and the scale stays connected.
    const theirs = client.publishAsync('wages/devices/someone-else/readings', line('someone-else', 's', 1, 1), { qos: 1 });
    await expect(theirs).rejects.toThrow(/not authorized/i);
    await client.publishAsync(`wages/devices/${id}/readings`, line(id, 's', 6, 19), { qos: 1 });
    expect((await (await request.get(`./api/devices/${id}/sessions/s`)).json()).count).toBe(6);
  } finally {
    await client.endAsync();
  }
});
