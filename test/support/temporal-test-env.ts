/**
 * How test files find the Temporal frontend the jest global setup prepared: its own dev server, or
 * the cluster `TEMPORAL_ADDRESS` names (README: "Running the tests against another Temporal cluster").
 *
 * The setup publishes the address and namespace in process.env (inherited by workers spawned after
 * it) and in a JSON file; the file is the fallback for runners that do not pass the parent's env through.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEST_TEMPORAL_ADDRESS_ENV = 'GATEHOUSE_TEST_TEMPORAL_ADDRESS';
export const TEST_TEMPORAL_NAMESPACE_ENV = 'GATEHOUSE_TEST_TEMPORAL_NAMESPACE';
export const TEST_TEMPORAL_TLS_ENV = 'GATEHOUSE_TEST_TEMPORAL_TLS';
export const TEST_TEMPORAL_FILE_ENV = 'GATEHOUSE_TEST_TEMPORAL_FILE';
/** Path of the workflow bundle the global setup builds once, so no test file bundles again. */
export const TEST_WORKFLOW_BUNDLE_ENV = 'GATEHOUSE_TEST_WORKFLOW_BUNDLE';

export interface TestTemporalInfo {
  address: string;
  namespace: string;
  /** TLS towards the frontend (TEMPORAL_TLS or TEMPORAL_API_KEY); the API key itself stays in env. */
  tls: boolean;
  /** The dev server's process id; absent when the tests run against an external cluster. */
  pid?: number;
}

/**
 * The file is named after the jest main process, so concurrent runs on one machine do not share
 * it: test code runs either in that process (in-band) or in a worker whose parent it is.
 */
export function testTemporalFileFor(jestPid: number): string {
  return path.join(os.tmpdir(), `gatehouse-test-temporal-${jestPid}.json`);
}

export function getTestTemporal(): TestTemporalInfo {
  const address = process.env[TEST_TEMPORAL_ADDRESS_ENV];
  if (address !== undefined && address !== '') {
    return {
      address,
      namespace: process.env[TEST_TEMPORAL_NAMESPACE_ENV] || 'default',
      tls: process.env[TEST_TEMPORAL_TLS_ENV] === 'true',
    };
  }
  const candidates = [
    process.env[TEST_TEMPORAL_FILE_ENV],
    testTemporalFileFor(process.pid),
    testTemporalFileFor(process.ppid),
  ];
  for (const file of candidates) {
    if (file === undefined || file === '') continue;
    const info = readInfo(file);
    if (info !== undefined) return info;
  }
  throw new Error(
    `No test Temporal server: ${TEST_TEMPORAL_ADDRESS_ENV} is unset and no ${testTemporalFileFor(process.ppid)} exists. ` +
      'Run the tests through jest with jest.config.js, whose globalSetup (test/support/temporal-global-setup.ts) prepares one.',
  );
}

export function getTestTemporalAddress(): string {
  return getTestTemporal().address;
}

export function getTestTemporalNamespace(): string {
  return getTestTemporal().namespace;
}

/** Options for `Connection.connect` / `NativeConnection.connect` to the test frontend. */
export function getTestTemporalConnectionOptions(): { address: string; tls?: object; apiKey?: string } {
  const info = getTestTemporal();
  const apiKey = process.env.TEMPORAL_API_KEY || undefined;
  return { address: info.address, tls: info.tls ? {} : undefined, apiKey };
}

function readInfo(file: string): TestTemporalInfo | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'address' in parsed &&
      typeof parsed.address === 'string' &&
      'namespace' in parsed &&
      typeof parsed.namespace === 'string'
    ) {
      return { tls: false, ...(parsed as Omit<TestTemporalInfo, 'tls'>) };
    }
  } catch {
    // Missing or half-written file: try the next candidate.
  }
  return undefined;
}
