// `npm run screenshots`: not part of `npm test`; writes docs/screenshots/*.png.
const base = require('./jest.config.js');
const common = { ...base.projects[0] };
delete common.displayName;
delete common.testMatch;
module.exports = {
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  maxWorkers: 1,
  testTimeout: 120_000,
  projects: [{ ...common, displayName: 'screenshots', testMatch: ['<rootDir>/test/screenshots/*.shots.ts'] }],
};
