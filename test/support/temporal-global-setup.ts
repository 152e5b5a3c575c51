/**
 * Jest globalSetup: one Temporal dev server for the whole run, shared by every test file, because
 * starting one per file would dominate the run time.
 */
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../../codec/gatehouse-data-converter';
import { startDevServer, type DevServerHandle } from '../../devtools/dev-server';
import { GATEHOUSE_SEARCH_ATTRIBUTES } from '../../worker/search-attributes';
import { ensureTemporalCli } from '../../devtools/temporal-cli';
import {
  TEST_TEMPORAL_ADDRESS_ENV,
  TEST_TEMPORAL_FILE_ENV,
  TEST_WORKFLOW_BUNDLE_ENV,
  testTemporalFileFor,
} from './temporal-test-env';

export interface TestTemporalGlobalState {
  server: DevServerHandle;
  tempDir: string;
  infoFile: string;
}

/** globalSetup and globalTeardown run in the same jest process and share only globalThis. */
export const TEST_TEMPORAL_GLOBAL_KEY = '__gatehouseTestTemporal';

const log = (line: string): void => {
  process.stderr.write(`[temporal] ${line}\n`);
};

export async function temporalGlobalSetup(): Promise<void> {
  const projectRoot = path.resolve(__dirname, '..', '..');
  // This is an entry point, so it may read env; the libraries take the value as a parameter.
  const cliPath = await ensureTemporalCli({ projectRoot, explicitPath: process.env.TEMPORAL_CLI_PATH, log });

  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-temporal-'));
  let server: DevServerHandle;
  const bundlePath = path.join(tempDir, 'workflow-bundle.js');
  try {
    // Every harness would otherwise bundle the same workflow code again (about a second of CPU each).
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      // Workers given a ready bundle take its failure converter, not their data converter's.
      failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
      logger: new DefaultLogger('WARN'),
    });
    await writeFile(bundlePath, code);
    server = await startDevServer({
      cliPath,
      dbFile: path.join(tempDir, 'temporal.db'),
      headless: true,
      searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
      logFile: path.join(tempDir, 'temporal.log'),
      log,
    });
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const infoFile = testTemporalFileFor(process.pid);
  const staged = `${infoFile}.${process.pid}.tmp`;
  // Write then rename so a reader never sees a half-written file.
  await writeFile(
    staged,
    JSON.stringify({ address: server.address, namespace: server.namespace, pid: server.pid }),
  );
  await rename(staged, infoFile);

  process.env[TEST_WORKFLOW_BUNDLE_ENV] = bundlePath;
  process.env[TEST_TEMPORAL_ADDRESS_ENV] = server.address;
  process.env[TEST_TEMPORAL_FILE_ENV] = infoFile;
  const state: TestTemporalGlobalState = { server, tempDir, infoFile };
  (globalThis as Record<string, unknown>)[TEST_TEMPORAL_GLOBAL_KEY] = state;
}

// Jest loads globalSetup through the module's default export.
export default temporalGlobalSetup;
