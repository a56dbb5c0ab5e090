import { test as setup, expect } from '@playwright/test';
import { adminPassword, authState } from './auth-state';

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
});
