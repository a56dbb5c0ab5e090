import { test, expect, basePath, hydrated, screenshot } from './fixtures';

test('the home page renders on the server and hydrates without console errors', async ({ page, problems }, info) => {
  const response = await page.goto('./');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { name: 'Every extraction, weighed live' })).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('version')).not.toBeEmpty();
  await screenshot(page, info.project.name, 'home');
  expect(problems).toEqual([]);
});

test('a server function round-trips under the base path', async ({ page, problems, baseURL }) => {
  const base = basePath(baseURL);
  await page.goto('./');
  await hydrated(page);
  const call = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith(`${base}/api/fn/server_status`));
  await page.getByTestId('refresh-status').click();
  const response = await call;
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.base_path).toBe(base);
  await expect(page.getByTestId('base-path')).toHaveText(base === '' ? '/ (root)' : base);
  expect(problems).toEqual([]);
});

test('the codec checks a payload in the browser as it is typed', async ({ page, problems }, info) => {
  await page.goto('./');
  await hydrated(page);
  const payload = page.getByLabel('Payload', { exact: true });
  await payload.fill('client_id=scale-01;session_id=brew-1;value=18.5;tstamp=1763805600123');
  const report = page.getByTestId('report');
  await expect(report).toHaveAttribute('data-accepted', '1');
  await expect(report).toHaveAttribute('data-refused', '0');
  await payload.press('End');
  await payload.pressSequentially('\nclient_id=scale-01;session_id=brew-1;value=abc;tstamp=1');
  await expect(report).toHaveAttribute('data-refused', '1');
  await expect(report).toContainText('line 2, byte 43: expected a number for value, found "abc"');
  await screenshot(page, info.project.name, 'checker');
  expect(problems).toEqual([]);
});

test('the example link keeps the base path and shows a verdict', async ({ page, problems, baseURL }) => {
  const base = basePath(baseURL);
  await page.goto('./');
  await hydrated(page);
  await page.getByTestId('example').click();
  await expect(page).toHaveURL(new RegExp(`^https?://[^/]+${base}/?\\?payload=`));
  const report = page.getByTestId('report');
  await expect(report).toHaveAttribute('data-accepted', '2');
  await expect(report).toHaveAttribute('data-refused', '1');
  expect(problems).toEqual([]);
});

test('a verdict rendered by the server hydrates, then follows what is typed', async ({ page, problems }) => {
  // The codec's code is fetched only when a payload is checked in the browser; a page
  // that arrives with one waits for it while it hydrates.
  await page.goto(`./?payload=${encodeURIComponent('client_id=a;session_id=b;value=1;tstamp=1')}`);
  const report = page.getByTestId('report');
  await expect(report).toHaveAttribute('data-accepted', '1');
  await hydrated(page);
  await expect(report).toHaveCount(1);
  const payload = page.getByLabel('Payload', { exact: true });
  await payload.press('End');
  await payload.pressSequentially('\nclient_id=a;session_id=b;value=x;tstamp=2');
  await expect(report).toHaveAttribute('data-refused', '1');
  await expect(report).toHaveAttribute('data-accepted', '1');
  await payload.fill('');
  await expect(report).toHaveCount(0);
  expect(problems).toEqual([]);
});

test.describe('before the WASM loads', () => {
  test.use({ javaScriptEnabled: false });

  test('the payload form is checked by the server', async ({ page, baseURL }, info) => {
    const base = basePath(baseURL);
    await page.goto('./');
    await page.getByLabel('Payload', { exact: true }).fill('client_id=a;session_id=b;value=1e9;tstamp=1');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${base}/?\\?payload=`));
    await expect(page.getByTestId('report')).toContainText('value must be between -10000 and 100000');
    await screenshot(page, info.project.name, 'checker-no-js');
  });
});

test('an unknown page is a 404 with a way home', async ({ page, problems, baseURL }, info) => {
  const base = basePath(baseURL);
  const response = await page.goto('./no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Nothing here' })).toBeVisible();
  await hydrated(page);
  await screenshot(page, info.project.name, 'not-found');
  await page.getByRole('link', { name: 'Go to the overview' }).click();
  await expect(page).toHaveURL(new RegExp(`^https?://[^/]+${base === '' ? '/' : base}$`));
  await expect(page.getByRole('heading', { name: 'Every extraction, weighed live' })).toBeVisible();
  // The browser reports the 404 document itself; nothing else may fail.
  expect(problems.filter((p) => !p.includes('status of 404'))).toEqual([]);
  expect(problems.length).toBeLessThanOrEqual(1);
});
