import path from 'node:path';
import type { BundleOptions } from '@temporalio/worker';

type WebpackConfiguration = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];

/**
 * Modules the workflow sandbox evaluates once per V8 context and shares between workflows, instead of
 * once per workflow (the reusable context runs every other module's top level for each new workflow).
 * Only stateless libraries belong here: the SDK deep-freezes what they export. zod qualifies (its one
 * piece of global state, the error map, is never set by Gatehouse); our own schema modules do not — zod
 * caches an object schema's shape on the schema object itself, which a frozen schema cannot do.
 */
export const SHARED_WORKFLOW_MODULES = ['zod'] as const;

/** zod's ES module entry, which is what the workflow code's `import` statements resolve to. */
const ZOD_MODULE_ENTRY = path.join(path.dirname(require.resolve('zod/package.json')), 'index.js');

/**
 * The SDK preloads with `require('zod')`, which would resolve to zod's CommonJS build — a second copy
 * beside the ES module build the workflow code imports — so both are pointed at the ES module entry.
 * zod also declares itself free of side effects, so webpack would drop a `require` whose result is
 * unused (the preload statement); marking its files as having side effects keeps it.
 */
function keepSharedModulesLoadable(config: WebpackConfiguration): WebpackConfiguration {
  return {
    ...config,
    resolve: {
      ...config.resolve,
      alias: { ...(config.resolve?.alias as Record<string, string> | undefined), zod$: ZOD_MODULE_ENTRY },
    },
    module: {
      ...config.module,
      rules: [...(config.module?.rules ?? []), { test: /[\\/]node_modules[\\/]zod[\\/]/, sideEffects: true }],
    },
  };
}

/**
 * How every workflow bundle is built: by a worker at start, by `npm run bundle:workflows`, and by the
 * tests (docs/decisions/0018).
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [...SHARED_WORKFLOW_MODULES],
  webpackConfigHook: keepSharedModulesLoadable,
} satisfies Pick<BundleOptions, 'preloadModules' | 'webpackConfigHook'>;
