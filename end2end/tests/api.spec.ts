import { test, expect, basePath, screenshot } from './fixtures';
import SwaggerParser from '@apidevtools/swagger-parser';

test('the OpenAPI document is valid OpenAPI 3', async ({ request, baseURL }) => {
  const response = await request.get('api/openapi.json');
  expect(response.status()).toBe(200);
  const doc = await response.json();
  expect(doc.servers[0].url).toBe(basePath(baseURL) || '/');
  // Throws, with the reason, on any schema violation or broken $ref.
  await SwaggerParser.validate(structuredClone(doc));
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/devices', '/api/devices/{client_id}']));
});

test('Swagger UI loads from the binary and lists the device endpoints', async ({ page, problems }, info) => {
  const external: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.hostname !== '127.0.0.1' && url.protocol !== 'data:') external.push(r.url());
  });
  await page.goto('api/docs/');
  await expect(page.getByRole('heading', { name: /Wages API/ })).toBeVisible();
  await expect(page.locator('.opblock-summary-path', { hasText: '/api/devices/{client_id}' }).first()).toBeVisible();
  await screenshot(page, info.project.name, 'swagger');
  expect(external, 'nothing is fetched from outside').toEqual([]);
  expect(problems).toEqual([]);
});
