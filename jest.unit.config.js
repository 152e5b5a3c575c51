// The pure-module suites: no Temporal, no database (`npm run test:unit`). `npm test` runs them too.
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testMatch: ['**/test/{domain,governance,unit}/**/*.test.ts'],
};
