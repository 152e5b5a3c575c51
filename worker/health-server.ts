import { createServer } from 'node:http';
import type { State } from '@temporalio/worker';
import { closeServer, listen } from '../net/listen';

/** One worker as the probes see it. */
export interface WorkerHealth {
  taskQueue: string;
  state: State;
}

export interface HealthServer {
  /** The bound port (useful when 0 asked for any free one). */
  port: number;
  close(): Promise<void>;
}

/** Body of both endpoints, so an operator sees which queue is not polled. */
export interface HealthReport {
  status: 'ok' | 'starting' | 'failed' | 'not-running';
  workers: WorkerHealth[];
}

/**
 * Liveness: the process answers (so its event loop is not blocked) and no worker has failed.
 * Readiness: every worker polls its task queue — false while starting, migrating or shutting down.
 */
export function assessHealth(workers: readonly WorkerHealth[]): {
  live: boolean;
  ready: boolean;
  report: HealthReport;
} {
  const failed = workers.some((worker) => worker.state === 'FAILED');
  const allRunning = workers.length > 0 && workers.every((worker) => worker.state === 'RUNNING');
  const status: HealthReport['status'] = failed
    ? 'failed'
    : workers.length === 0
      ? 'starting'
      : allRunning
        ? 'ok'
        : 'not-running';
  return { live: !failed, ready: allRunning, report: { status, workers: [...workers] } };
}

/**
 * Serves `GET /healthz` (liveness) and `GET /readyz` (readiness) for container orchestrators, and
 * `GET /metrics` (Prometheus text format) when given metrics. The worker list is read on every probe,
 * so the server can start before the workers exist.
 */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  workers: () => readonly WorkerHealth[];
  /** The Prometheus exposition text, collected at each scrape. */
  metrics?: () => Promise<string>;
}): Promise<HealthServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics' && options.metrics) {
      options.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          response.end(request.method === 'HEAD' ? undefined : text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`# ${String(error)}\n`);
        },
      );
      return;
    }
    if (path !== '/healthz' && path !== '/readyz') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const health = assessHealth(options.workers());
    const ok = path === '/healthz' ? health.live : health.ready;
    const body = JSON.stringify(health.report);
    response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  return {
    port: await listen(server, options.port, options.host),
    close: () => closeServer(server, () => server.closeAllConnections()),
  };
}

/** The probes' view of running Temporal workers. */
export function describeWorkers(
  workers: readonly { options: { taskQueue: string }; getState(): State }[],
): WorkerHealth[] {
  return workers.map((worker) => ({ taskQueue: worker.options.taskQueue, state: worker.getState() }));
}
