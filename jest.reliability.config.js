// The AWS SDK's notice that its 2027 releases need Node 22 is for operators, not for every test worker.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * `npm run test:reliability`: the reliability table of the README ("Reliability"), one scenario per row, with
 * real processes (worker processes, the dev server, the database). Rows the request-path suite already
 * proves run from their own files. One file at a time: the scenarios kill and restart shared things.
 * GATEHOUSE_RELIABILITY_SCALE=full runs the full sizes; the default is the reduced scale CI runs.
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testMatch: [
    '**/test/reliability/**/*.test.ts',
    // Rows the other suites already prove, run here too so one command covers the whole table.
    '**/test/request-path/{pathological-input,operator-reset,operator-lifecycle,cross-tenant,budget-holds}.test.ts',
    '**/test/store/{retrieval-isolation,audit-tampering,audit-repository}.test.ts',
    '**/test/replay/replay.test.ts',
  ],
  globalSetup: '<rootDir>/test/support/temporal-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/temporal-global-teardown.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
};
