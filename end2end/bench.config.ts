import config from './playwright.config';

// The browser benchmarks (bench/): the same servers and browser as the tests, run on
// demand only: `npx playwright test --config bench.config.ts --project root`.
export default { ...config, testDir: './bench' };
