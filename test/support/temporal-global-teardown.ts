/** Jest globalTeardown: stops the run's Temporal dev server (or retires its external namespace) and removes its files. */
import { rm } from 'node:fs/promises';
import { TEST_TEMPORAL_GLOBAL_KEY, type TestTemporalGlobalState } from './temporal-global-setup';
import {
  TEST_TEMPORAL_ADDRESS_ENV,
  TEST_TEMPORAL_FILE_ENV,
  TEST_TEMPORAL_NAMESPACE_ENV,
  TEST_TEMPORAL_TLS_ENV,
  TEST_WORKFLOW_BUNDLE_ENV,
} from './temporal-test-env';

export async function temporalGlobalTeardown(): Promise<void> {
  const globals = globalThis as Record<string, unknown>;
  const state = globals[TEST_TEMPORAL_GLOBAL_KEY] as TestTemporalGlobalState | undefined;
  if (state === undefined) return;
  delete globals[TEST_TEMPORAL_GLOBAL_KEY];
  try {
    await state.server?.stop();
    await state.external?.release();
  } finally {
    await rm(state.infoFile, { force: true });
    await rm(state.tempDir, { recursive: true, force: true });
    for (const name of [
      TEST_TEMPORAL_ADDRESS_ENV,
      TEST_TEMPORAL_NAMESPACE_ENV,
      TEST_TEMPORAL_TLS_ENV,
      TEST_TEMPORAL_FILE_ENV,
      TEST_WORKFLOW_BUNDLE_ENV,
    ]) {
      delete process.env[name];
    }
  }
}

// Jest loads globalTeardown through the module's default export.
export default temporalGlobalTeardown;
