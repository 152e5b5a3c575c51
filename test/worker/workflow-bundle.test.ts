import vm from 'node:vm';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../../codec/gatehouse-data-converter';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../worker/workflow-bundle-options';

/**
 * Loads a workflow bundle the way the SDK's reusable V8 context does: modules required before any
 * workflow exists (the entry point and the preloaded ones) land in a cache shared by every workflow;
 * everything a workflow's import evaluates after that lands in that workflow's own cache. Returns the
 * module ids each new workflow evaluates again.
 */
function modulesEvaluatedPerWorkflow(code: string): { shared: string[]; perWorkflow: string[] } {
  const shared = new Map<string, unknown>();
  const perWorkflow = new Map<string, unknown>();
  let workflowLoading = false;
  const moduleCache = new Proxy(
    {},
    {
      get: (_, id: string) => shared.get(id) ?? perWorkflow.get(id),
      set: (_, id: string, module) => {
        (workflowLoading ? perWorkflow : shared).set(id, module);
        return true;
      },
    },
  );
  const context = vm.createContext({ console, TextEncoder, TextDecoder, AbortController, URL });
  Object.defineProperty(context, '__webpack_module_cache__', { value: moduleCache });
  new vm.Script(code).runInContext(context);
  vm.runInContext('__TEMPORAL__.preloadModules?.()', context);
  workflowLoading = true;
  vm.runInContext('__TEMPORAL__.importWorkflows()', context);
  return { shared: [...shared.keys()], perWorkflow: [...perWorkflow.keys()] };
}

const bundle = (options: Partial<typeof WORKFLOW_BUNDLER_OPTIONS>) =>
  bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
    ...options,
  });

const isZod = (id: string) => /[\\/]node_modules[\\/]zod[\\/]/.test(id);

describe('the workflow bundle', () => {
  it('evaluates zod once per V8 context, never again for each workflow', async () => {
    const { code } = await bundle(WORKFLOW_BUNDLER_OPTIONS);
    const { shared, perWorkflow } = modulesEvaluatedPerWorkflow(code);
    expect(shared.filter(isZod).length).toBeGreaterThan(0);
    expect(perWorkflow.filter(isZod)).toEqual([]);
    // What a workflow does evaluate is our own workflow and domain code and the SDK's workflow API.
    const libraries = perWorkflow.filter((id) => id.includes('node_modules'));
    expect(libraries.filter((id) => !id.startsWith('./node_modules/@temporalio/workflow/'))).toEqual([]);
    expect(perWorkflow).toContain('./workflows/llm-request-workflow.ts');
  });

  it('would evaluate zod for every workflow without the shared-module options (negative control)', async () => {
    const { code } = await bundle({});
    const { perWorkflow } = modulesEvaluatedPerWorkflow(code);
    expect(perWorkflow.filter(isZod).length).toBeGreaterThan(0);
  });
});
