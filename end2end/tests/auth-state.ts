import * as path from 'path';

/** The admin's password on the e2e servers (their WAGES_ADMIN_PASSWORD). */
export const adminPassword = 'e2e admin password';

const workspace = path.resolve(__dirname, '..', '..');
const dataDir = process.env.E2E_DATA_DIR ?? path.join(workspace, 'target/e2e-data');

/** Where a base path's logged-in browser state is kept between the setup and the tests. */
export function authState(name: 'root' | 'wages'): string {
  return path.join(dataDir, `auth-${name}.json`);
}
