import { z } from 'zod';
import type { FrontDoorApp } from './front-door-context';

/** A dependency /readyz checks; throws (or times out) when it cannot be reached. */
export type ReadinessCheck = () => Promise<void>;

const READINESS_TIMEOUT_MS = 2_000;

const readinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string()).describe('"ok", or why the dependency is not reachable'),
});

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)),
      READINESS_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: the process answers (liveness: restart me if not). `/readyz`: Temporal and the database
 * answer too (readiness: send me traffic only then). No authentication: probes carry no keys.
 */
export function registerHealthRoutes(app: FrontDoorApp, checks: Record<string, ReadinessCheck>): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the front door process is up',
        tags: ['Health'],
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: Temporal and the database are reachable',
        tags: ['Health'],
        security: [],
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (_request, reply) => {
      const names = Object.keys(checks);
      const outcomes = await Promise.all(names.map((name) => runCheck(checks[name]!)));
      const results = Object.fromEntries(names.map((name, index) => [name, outcomes[index]!]));
      const ready = outcomes.every((outcome) => outcome === 'ok');
      reply.code(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('not ready' as const), checks: results };
    },
  );
}
