import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../codec/gatehouse-data-converter';
import { WORKFLOW_BUNDLER_OPTIONS } from '../worker/workflow-bundle-options';

/** Bundles the workflow code once, as a worker would, and fails on anything the sandbox rejects. */
async function main(): Promise<void> {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
    ...WORKFLOW_BUNDLER_OPTIONS,
  });
  const target = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, code);
  console.log(
    `workflow bundle: ${path.relative(process.cwd(), target)} (${(code.length / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
