import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../codec/gatehouse-data-converter';
import { tracedBundlePath, WORKFLOW_TRACING_INTERCEPTORS_PATH } from '../telemetry/temporal-tracing';
import { WORKFLOW_BUNDLER_OPTIONS } from '../worker/workflow-bundle-options';

/**
 * Bundles the workflow code once, as a worker would, and fails on anything the sandbox rejects. Two
 * bundles: the plain one, and one with the tracing interceptors that workers load when
 * GATEHOUSE_TELEMETRY is on (interceptors are compiled into workflow code, so they cannot be added later).
 */
async function main(): Promise<void> {
  const target = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');
  mkdirSync(path.dirname(target), { recursive: true });
  for (const [file, workflowInterceptorModules] of [
    [target, []],
    [tracedBundlePath(target), [WORKFLOW_TRACING_INTERCEPTORS_PATH]],
  ] as const) {
    const started = Date.now();
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
      ...WORKFLOW_BUNDLER_OPTIONS,
      workflowInterceptorModules: [...workflowInterceptorModules],
    });
    writeFileSync(file, code);
    console.log(
      `workflow bundle: ${path.relative(process.cwd(), file)} (${(code.length / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
