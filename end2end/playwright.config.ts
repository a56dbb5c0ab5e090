import { defineConfig } from '@playwright/test';
import * as path from 'path';
import { adminPassword, authState } from './tests/auth-state';

// The suite runs twice: against a server at the root and one under /wages.
// scripts/test.sh picks free ports; the defaults serve a manual `npx playwright test`.
const workspace = path.resolve(__dirname, '..');
const binary = process.env.WAGES_BIN ?? path.join(workspace, 'target/release/wages');
const ports = {
  root: Number(process.env.E2E_PORT_ROOT ?? 3710),
  wages: Number(process.env.E2E_PORT_WAGES ?? 3711),
};
const dataDir = process.env.E2E_DATA_DIR ?? path.join(workspace, 'target/e2e-data');

function server(name: keyof typeof ports, basePath: string) {
  const origin = `http://127.0.0.1:${ports[name]}`;
  return {
    command: binary,
    cwd: workspace,
    url: `${origin}${basePath}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe' as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${ports[name]}`,
      LEPTOS_SITE_ROOT: path.join(workspace, 'target/site'),
      WAGES_BASE_PATH: basePath,
      WAGES_DATABASE_URL: `sqlite://${dataDir}/${name}.db`,
      WAGES_MQTT_LISTEN: '0',
      WAGES_ADMIN_PASSWORD: adminPassword,
      WAGES_LOG: 'warn',
    },
  };
}

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  // A test that fails once and passes on its second try is reported as flaky (and
  // scripts/test.sh names it under its summary); one that fails twice fails the run.
  retries: 1,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
  },
  // Each base path logs in once through the login form (tests/login.setup.ts); its
  // tests then run logged in. tests/auth.spec.ts starts logged out on purpose.
  projects: [
    { name: 'setup-root', testMatch: /login\.setup\.ts/, use: { baseURL: `http://127.0.0.1:${ports.root}/` } },
    { name: 'setup-wages', testMatch: /login\.setup\.ts/, use: { baseURL: `http://127.0.0.1:${ports.wages}/wages/` } },
    { name: 'root', dependencies: ['setup-root'], use: { baseURL: `http://127.0.0.1:${ports.root}/`, storageState: authState('root') } },
    { name: 'wages', dependencies: ['setup-wages'], use: { baseURL: `http://127.0.0.1:${ports.wages}/wages/`, storageState: authState('wages') } },
  ],
  webServer: [server('root', ''), server('wages', '/wages')],
});
