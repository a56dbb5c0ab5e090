import { test, expect, basePath, hydrated, screenshot } from './fixtures';
import { adminPassword } from './auth-state';

test.describe('logged out', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('pages send people to the login form, and back after it', async ({ page, baseURL, problems }, testInfo) => {
    const base = basePath(baseURL);
    await page.goto('./devices?q=bar');
    await expect(page).toHaveURL(new RegExp(`${base}/login\\?next=`));
    await hydrated(page);
    await screenshot(page, testInfo.project.name, 'login');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByTestId('login-failed')).toHaveText('Wrong user or password.');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL(`${base}/devices?q=bar`.replace(/^/, new URL(baseURL!).origin));
    await expect(page.getByRole('heading', { name: 'Scales', level: 1 })).toBeVisible();
    // The cookie is for the server only.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'wages_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(await page.evaluate(() => document.cookie)).not.toContain('wages_session');

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto('./');
    await expect(page).toHaveURL(/\/login\?next=/);
    // The browser's own 401 and the login redirect are the only "errors" here.
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  });

  test('the API answers 401 without a token', async ({ request }) => {
    const response = await request.get('./api/devices');
    expect(response.status()).toBe(401);
    expect((await response.json()).error.code).toBe('unauthorized');
  });
});

test('a token is shown once, works with the API by its scope, and is revoked', async ({ page, playwright, baseURL, problems }, testInfo) => {
  await page.goto('./tokens');
  await hydrated(page);
  const name = `e2e ${testInfo.project.name} ${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Scope').selectOption('read');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('token-secret').textContent())!;
  expect(secret).toMatch(/^wages_[0-9a-f]{12}_[0-9a-f]{48}$/);
  const row = page.locator('tr', { hasText: name });
  await expect(row).toContainText('read');
  await screenshot(page, testInfo.project.name, 'tokens');

  // A program with nothing but the token.
  const program = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${secret}` } });
  expect((await program.get('./api/devices')).status()).toBe(200);
  expect((await program.post('./api/devices', { data: { client_id: 'ro-1', name: 'x' } })).status()).toBe(403);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toHaveCount(0);
  expect((await program.get('./api/devices')).status()).toBe(401);
  // Reloaded, the secret is gone for good.
  await page.reload();
  await expect(page.getByTestId('token-secret')).toHaveCount(0);
  await program.dispose();
  expect(problems).toEqual([]);
});

test('every page keeps to its Content-Security-Policy', async ({ page, problems }) => {
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  for (const path of ['./', './devices', './pipeline', './firmware', './tokens', './simulator/csp-1', './bluetooth']) {
    const response = await page.goto(path);
    expect(response?.headers()['content-security-policy']).toContain("'nonce-");
    await hydrated(page);
  }
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
});
