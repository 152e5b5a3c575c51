import {
  assessHealth,
  startHealthServer,
  type HealthServer,
  type WorkerHealth,
} from '../../worker/health-server';

describe('assessHealth', () => {
  it.each<{ workers: WorkerHealth['state'][]; live: boolean; ready: boolean; status: string }>([
    { workers: [], live: true, ready: false, status: 'starting' },
    { workers: ['INITIALIZED', 'RUNNING'], live: true, ready: false, status: 'not-running' },
    { workers: ['RUNNING', 'RUNNING'], live: true, ready: true, status: 'ok' },
    { workers: ['RUNNING', 'STOPPING'], live: true, ready: false, status: 'not-running' },
    { workers: ['RUNNING', 'FAILED'], live: false, ready: false, status: 'failed' },
  ])('workers $workers: live $live, ready $ready', ({ workers, live, ready, status }) => {
    const health = assessHealth(workers.map((state, index) => ({ taskQueue: `queue-${index}`, state })));
    expect({ live: health.live, ready: health.ready, status: health.report.status }).toEqual({
      live,
      ready,
      status,
    });
  });
});

describe('the health endpoints', () => {
  let server: HealthServer;
  let workers: WorkerHealth[] = [];
  const base = () => `http://127.0.0.1:${server.port}`;

  beforeAll(async () => {
    server = await startHealthServer({ port: 0, host: '127.0.0.1', workers: () => workers });
  });
  afterAll(async () => {
    await server.close();
  });

  it('is live but not ready while the workers start, then ready with the queues it polls', async () => {
    workers = [];
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);
    const starting = await fetch(`${base()}/readyz`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toEqual({ status: 'starting', workers: [] });

    workers = [
      { taskQueue: 'gatehouse-requests', state: 'RUNNING' },
      { taskQueue: 'gatehouse-route-extractive', state: 'RUNNING' },
    ];
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('content-type')).toBe('application/json');
    expect(await ready.json()).toEqual({ status: 'ok', workers });
  });

  it('is not live once a worker failed, naming it', async () => {
    workers = [
      { taskQueue: 'gatehouse-requests', state: 'RUNNING' },
      { taskQueue: 'gatehouse-route-extractive', state: 'FAILED' },
    ];
    const live = await fetch(`${base()}/healthz`);
    expect(live.status).toBe(503);
    expect(await live.json()).toEqual({ status: 'failed', workers });
  });

  it('answers HEAD without a body, 404 elsewhere and 405 to other methods', async () => {
    workers = [{ taskQueue: 'gatehouse-requests', state: 'RUNNING' }];
    const head = await fetch(`${base()}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${base()}/metrics`)).status).toBe(404);
    const post = await fetch(`${base()}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('the metrics endpoint on the health server', () => {
  it('serves the Prometheus text at each scrape, and 500 when collecting fails', async () => {
    let scrapes = 0;
    let failing = false;
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      workers: () => [],
      metrics: async () => {
        if (failing) throw new Error('collector broke');
        scrapes += 1;
        return `gatehouse_requests_total ${scrapes}\n`;
      },
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const first = await fetch(`${base}/metrics`);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await first.text()).toBe('gatehouse_requests_total 1\n');
      expect(await (await fetch(`${base}/metrics`)).text()).toBe('gatehouse_requests_total 2\n');
      // The probes still answer beside it.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      failing = true;
      const broken = await fetch(`${base}/metrics`);
      expect(broken.status).toBe(500);
      expect(await broken.text()).toContain('collector broke');
    } finally {
      await server.close();
    }
  });
});
