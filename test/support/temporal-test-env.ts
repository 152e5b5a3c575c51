/**
 * How test files find the one Temporal dev server the jest global setup started.
 *
 * The setup publishes the address in process.env (inherited by workers spawned after it) and in a
 * JSON file; the file is the fallback for runners that do not pass the parent's env through.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEST_TEMPORAL_ADDRESS_ENV = 'GATEHOUSE_TEST_TEMPORAL_ADDRESS';
export const TEST_TEMPORAL_FILE_ENV = 'GATEHOUSE_TEST_TEMPORAL_FILE';
/** Path of the workflow bundle the global setup builds once, so no test file bundles again. */
export const TEST_WORKFLOW_BUNDLE_ENV = 'GATEHOUSE_TEST_WORKFLOW_BUNDLE';

export interface TestTemporalInfo {
  address: string;
  namespace: string;
  pid: number;
}

/**
 * The file is named after the jest main process, so concurrent runs on one machine do not share
 * it: test code runs either in that process (in-band) or in a worker whose parent it is.
 */
export function testTemporalFileFor(jestPid: number): string {
  return path.join(os.tmpdir(), `gatehouse-test-temporal-${jestPid}.json`);
}

export function getTestTemporalAddress(): string {
  const fromEnv = process.env[TEST_TEMPORAL_ADDRESS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;

  const candidates = [
    process.env[TEST_TEMPORAL_FILE_ENV],
    testTemporalFileFor(process.pid),
    testTemporalFileFor(process.ppid),
  ];
  for (const file of candidates) {
    if (file === undefined || file === '') continue;
    const info = readInfo(file);
    if (info !== undefined) return info.address;
  }
  throw new Error(
    `No test Temporal server: ${TEST_TEMPORAL_ADDRESS_ENV} is unset and no ${testTemporalFileFor(process.ppid)} exists. ` +
      'Run the tests through jest with jest.config.js, whose globalSetup (test/support/temporal-global-setup.ts) starts the server.',
  );
}

function readInfo(file: string): TestTemporalInfo | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'address' in parsed &&
      typeof parsed.address === 'string'
    ) {
      return parsed as TestTemporalInfo;
    }
  } catch {
    // Missing or half-written file: try the next candidate.
  }
  return undefined;
}
