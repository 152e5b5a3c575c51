/**
 * Jest globalSetup: one Temporal frontend for the whole run, shared by every test file, because
 * starting one per file would dominate the run time. By default that is a dev server of its own; with
 * `TEMPORAL_ADDRESS` set it is that cluster (README: "Running the tests against another Temporal cluster").
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../../codec/gatehouse-data-converter';
import { readSettings } from '../../config/environment';
import { startDevServer, type DevServerHandle } from '../../devtools/dev-server';
import { ensureTemporalCli } from '../../devtools/temporal-cli';
import { GATEHOUSE_SEARCH_ATTRIBUTES } from '../../worker/search-attributes';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../worker/workflow-bundle-options';
import { prepareExternalTemporal, type ExternalTemporal } from './external-temporal';
import {
  TEST_TEMPORAL_ADDRESS_ENV,
  TEST_TEMPORAL_FILE_ENV,
  TEST_TEMPORAL_NAMESPACE_ENV,
  TEST_TEMPORAL_TLS_ENV,
  TEST_WORKFLOW_BUNDLE_ENV,
  testTemporalFileFor,
  type TestTemporalInfo,
} from './temporal-test-env';

export interface TestTemporalGlobalState {
  /** The run's own dev server; undefined when TEMPORAL_ADDRESS named a cluster. */
  server?: DevServerHandle;
  external?: ExternalTemporal;
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
  const { temporal } = readSettings(process.env);

  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-temporal-'));
  let server: DevServerHandle | undefined;
  let external: ExternalTemporal | undefined;
  let info: TestTemporalInfo;
  const bundlePath = path.join(tempDir, 'workflow-bundle.js');
  try {
    // Every harness would otherwise bundle the same workflow code again (about a second of CPU each).
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      // Workers given a ready bundle take its failure converter, not their data converter's.
      failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
      logger: new DefaultLogger('WARN'),
      ...WORKFLOW_BUNDLER_OPTIONS,
    });
    await writeFile(bundlePath, code);
    if (temporal.address !== undefined) {
      external = await prepareExternalTemporal({
        address: temporal.address,
        tls: temporal.tls,
        apiKey: temporal.apiKey,
        // Only an explicit TEMPORAL_NAMESPACE is used as is; otherwise the run gets a namespace of its own.
        namespace: process.env.TEMPORAL_NAMESPACE || undefined,
        freshNamespace: `gatehouse-test-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`,
        searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
        log,
      });
      info = { address: temporal.address, namespace: external.namespace, tls: temporal.tls };
    } else {
      const cliPath = await ensureTemporalCli({ projectRoot, explicitPath: temporal.cliPath, log });
      server = await startDevServer({
        cliPath,
        dbFile: path.join(tempDir, 'temporal.db'),
        headless: true,
        searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
        logFile: path.join(tempDir, 'temporal.log'),
        log,
      });
      info = { address: server.address, namespace: server.namespace, tls: false, pid: server.pid };
    }
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const infoFile = testTemporalFileFor(process.pid);
  const staged = `${infoFile}.${process.pid}.tmp`;
  // Write then rename so a reader never sees a half-written file.
  await writeFile(staged, JSON.stringify(info));
  await rename(staged, infoFile);

  process.env[TEST_WORKFLOW_BUNDLE_ENV] = bundlePath;
  process.env[TEST_TEMPORAL_ADDRESS_ENV] = info.address;
  process.env[TEST_TEMPORAL_NAMESPACE_ENV] = info.namespace;
  process.env[TEST_TEMPORAL_TLS_ENV] = String(info.tls);
  process.env[TEST_TEMPORAL_FILE_ENV] = infoFile;
  const state: TestTemporalGlobalState = { server, external, tempDir, infoFile };
  (globalThis as Record<string, unknown>)[TEST_TEMPORAL_GLOBAL_KEY] = state;
}

// Jest loads globalSetup through the module's default export.
export default temporalGlobalSetup;
