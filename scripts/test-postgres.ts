import { spawnSync } from 'node:child_process';

/**
 * Runs the store, audit and budget suites, the request path, the front door, ingestion, the reports, governance,
 * the CLI commands and the encrypted-history check against PostgreSQL. Needs DATABASE_URL;
 * every suite works in a schema of its own, so the database may be shared.
 */
const url = process.env.DATABASE_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  console.error('test:postgres needs DATABASE_URL=postgres://user:password@host:port/database');
  process.exit(2);
}
const extra = process.argv.slice(2);
const result = spawnSync(
  'npx',
  [
    'jest',
    'test/store',
    'test/request-path',
    'test/frontdoor',
    'test/ingestion',
    'test/codec/encrypted-history',
    'test/reports',
    'test/governance',
    'test/client',
    ...extra,
  ],
  {
    stdio: 'inherit',
    env: process.env,
  },
);
process.exit(result.status ?? 1);
