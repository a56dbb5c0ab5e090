import { test as setup, expect } from '@playwright/test';
import * as fs from 'fs';
import { adminPassword, authState, tokenFile } from './auth-state';
import { hydrated } from './fixtures';

// Logs in through the login form as a person would, once per base path, and keeps the
// session cookie for the project's tests.
setup('log in through the form', async ({ page }, testInfo) => {
  await page.goto('./firmware');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Firmware', level: 1 })).toBeVisible();
  const name = testInfo.project.name === 'setup-root' ? 'root' : 'wages';
  await page.context().storageState({ path: authState(name) });
  // A write token, made on the Tokens page, for the tests' own MQTT publishers.
  await page.goto('./tokens');
  await hydrated(page);
  await page.getByLabel('Name').fill(`e2e publishers ${Date.now()}`);
  await page.getByLabel('Scope').selectOption('write');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('token-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^wages_/);
  fs.writeFileSync(tokenFile(name), secret);
});
