import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Every log line the worker runtime emits (workflow and activity loggers, core), kept in memory so a
 * test can prove what never reached a log. Import before anything that installs the runtime.
 */
export const capturedRuntimeLog: string[] = [];

if (!Runtime._instance) {
  Runtime.install({
    logger: new DefaultLogger('DEBUG', (entry) => {
      capturedRuntimeLog.push(
        `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}`,
      );
    }),
  });
}
