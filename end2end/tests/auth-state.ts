import * as fs from 'fs';
import * as path from 'path';

/** The admin's password on the e2e servers (their WAGES_ADMIN_PASSWORD). */
export const adminPassword = 'e2e admin password';

const workspace = path.resolve(__dirname, '..', '..');
const dataDir = process.env.E2E_DATA_DIR ?? path.join(workspace, 'target/e2e-data');

/** Where a base path's logged-in browser state is kept between the setup and the tests. */
export function authState(name: 'root' | 'wages'): string {
  return path.join(dataDir, `auth-${name}.json`);
}

/** Where the setup keeps a write token for a base path: test scales log in to MQTT with it. */
export function tokenFile(name: 'root' | 'wages'): string {
  return path.join(dataDir, `token-${name}.txt`);
}

/** The MQTT login of the test publishers on the server at `baseURL`: the setup's write token. */
export function mqttLogin(baseURL: string): { username: string; password: string } {
  const name = new URL(baseURL).pathname.startsWith('/wages') ? 'wages' : 'root';
  return { username: 'e2e', password: fs.readFileSync(tokenFile(name), 'utf8').trim() };
}
