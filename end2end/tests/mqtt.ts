import mqtt from 'mqtt';
import { mqttLogin } from './auth-state';

/**
 * Publishes payloads to `wages/devices/{clientId}/readings` at QoS 1 through the server's
 * own MQTT-over-WebSocket endpoint (`{base}/mqtt`), as a browser-side scale would, and
 * resolves once the broker has acknowledged every message. Test publishers log in with the
 * setup's write token, which may speak for any scale (a real scale has its own password).
 */
export async function publishReadings(baseURL: string, clientId: string, payloads: string[]): Promise<void> {
  const url = new URL('mqtt', baseURL.endsWith('/') ? baseURL : `${baseURL}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = await mqtt.connectAsync(url.toString(), { clientId: `e2e-${clientId}`, protocolVersion: 4, ...mqttLogin(baseURL) });
  try {
    for (const payload of payloads) {
      await client.publishAsync(`wages/devices/${clientId}/readings`, payload, { qos: 1 });
    }
  } finally {
    await client.endAsync();
  }
}

/** One reading in the text form of docs/protocol.md. */
export function line(clientId: string, session: string, tstamp: number, grams: number): string {
  return `client_id=${clientId};session_id=${session};value=${grams};tstamp=${tstamp}`;
}

/** Publishes a scale's status (`online;firmware=…` or `offline`), retained, as a scale does. */
export async function publishStatus(baseURL: string, clientId: string, status: string): Promise<void> {
  const url = new URL('mqtt', baseURL.endsWith('/') ? baseURL : `${baseURL}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = await mqtt.connectAsync(url.toString(), { clientId: `e2e-status-${clientId}`, protocolVersion: 4, ...mqttLogin(baseURL) });
  try {
    await client.publishAsync(`wages/devices/${clientId}/status`, status, { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/** Subscribes to `topic` through `{base}/mqtt` and resolves with the first message's payload. */
export async function firstMessage(baseURL: string, topic: string, clientId: string): Promise<string> {
  const url = new URL('mqtt', baseURL.endsWith('/') ? baseURL : `${baseURL}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = await mqtt.connectAsync(url.toString(), { clientId, protocolVersion: 4, ...mqttLogin(baseURL) });
  try {
    const message = new Promise<string>((resolve) => client.on('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync(topic, { qos: 1 });
    return await message;
  } finally {
    await client.endAsync();
  }
}

/** Connects to `{base}/mqtt` as scale `clientId` with its own password; rejects when refused. */
export async function connectAsScale(baseURL: string, clientId: string, password: string): Promise<mqtt.MqttClient> {
  const url = new URL('mqtt', baseURL.endsWith('/') ? baseURL : `${baseURL}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return mqtt.connectAsync(url.toString(), {
    clientId,
    username: clientId,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}
