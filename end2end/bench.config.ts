import config from './playwright.config';

// The latency benchmark (bench/latency.spec.ts) runs against the same servers, on
// demand only: `npx playwright test --config bench.config.ts --project root`. It logs in
// itself, so the projects here have no login setup.
export default {
  ...config,
  testDir: './bench',
  projects: config.projects!.filter((p) => !p.name!.startsWith('setup')).map((p) => ({ name: p.name, use: { baseURL: p.use!.baseURL } })),
};
