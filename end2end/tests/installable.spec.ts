import { test, expect, hydrated } from './fixtures';

// A cafe puts Wages on a tablet's home screen: Chromium must find the app installable
// (a manifest with a name, a start URL inside the app, icons it can fetch), under `/`
// and under `/wages`, and the page must carry the theme colour.
test('the app can be installed to a home screen', async ({ page, baseURL, playwright }) => {
  await page.goto('./');
  await hydrated(page);
  await expect(page.locator('meta[name="theme-color"]')).toHaveAttribute('content', '#2b2118');
  const cdp = await page.context().newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  expect(manifest.url).toBe(new URL('manifest.webmanifest', baseURL).toString());
  expect(manifest.errors).toEqual([]);
  const parsed = JSON.parse(manifest.data!);
  expect(parsed.name).toBe('Wages');
  expect(parsed.display).toBe('standalone');
  // Nothing but the test browser's own private mode stands in the way.
  const errors = async () =>
    (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito');
  await expect.poll(errors, { timeout: 10_000 }).toEqual([]);
  // The manifest and icons load without a login (browsers fetch them without the cookie).
  const anonymous = await playwright.request.newContext({ storageState: { cookies: [], origins: [] } });
  for (const file of ['icon-192.png', 'icon-512.png', 'icon.svg', 'manifest.webmanifest']) {
    const res = await anonymous.get(new URL(file, baseURL).toString(), { maxRedirects: 0 });
    expect(res.status(), file).toBe(200);
  }
  expect((await anonymous.get(new URL('tokens', baseURL).toString(), { maxRedirects: 0 })).status()).not.toBe(200);
  await anonymous.dispose();
});
