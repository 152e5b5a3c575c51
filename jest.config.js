// The AWS SDK's notice that its 2027 releases need Node 22 is for operators, not for every test worker.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Jest runs TypeScript through SWC; one real Temporal dev server serves the whole run. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testMatch: ['**/test/**/*.test.ts'],
  // The reliability scenarios (`npm run test:reliability`) kill and restart processes: run on their own.
  testPathIgnorePatterns: ['/node_modules/', '/test/reliability/'],
  globalSetup: '<rootDir>/test/support/temporal-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/temporal-global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
