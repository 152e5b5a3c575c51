import path from 'node:path';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { readSettings } from '../../config/environment';
import { loadRouteTable } from '../../config/load-route-table';
import { planTaskQueues } from '../../worker/plan-task-queues';

const emulatedTable = loadRouteTable(path.resolve(__dirname, '../../config/routes.bedrock-emulator.json'));

/** Two routes on one queue with different limits, one on a queue of its own. */
const sharedQueueTable: RouteTable = routeTableSchema.parse({
  ...emulatedTable,
  routes: emulatedTable.routes.map((route, index) => ({
    ...route,
    taskQueue: index < 2 ? 'gatehouse-route-bedrock' : route.taskQueue,
    rateLimit:
      index === 0
        ? { maxConcurrent: 8, activitiesPerSecond: 50 }
        : { maxConcurrent: 16, activitiesPerSecond: 20 },
  })),
});

describe('planTaskQueues', () => {
  it('polls the request queue and every route queue when nothing is selected', () => {
    const plan = planTaskQueues('gatehouse-requests', emulatedTable);
    expect(plan.requestQueue).toBe('gatehouse-requests');
    expect([...plan.routeQueues.keys()]).toEqual([
      'gatehouse-route-claude-haiku',
      'gatehouse-route-nova-lite',
      'gatehouse-route-extractive',
    ]);
    expect(plan.routeQueues.get('gatehouse-route-claude-haiku')).toEqual({
      maxConcurrent: 16,
      activitiesPerSecond: 50,
    });
  });

  it.each([
    {
      selection: ['gatehouse-requests'],
      requestQueue: 'gatehouse-requests',
      routeQueues: [],
    },
    {
      selection: ['gatehouse-route-nova-lite'],
      requestQueue: undefined,
      routeQueues: ['gatehouse-route-nova-lite'],
    },
    {
      selection: ['gatehouse-route-extractive', 'gatehouse-route-claude-haiku'],
      requestQueue: undefined,
      routeQueues: ['gatehouse-route-claude-haiku', 'gatehouse-route-extractive'],
    },
  ])('polls only $selection when selected', ({ selection, requestQueue, routeQueues }) => {
    const plan = planTaskQueues('gatehouse-requests', emulatedTable, selection);
    expect(plan.requestQueue).toBe(requestQueue);
    expect([...plan.routeQueues.keys()]).toEqual(routeQueues);
  });

  it('gives routes that share a queue the strictest of their limits', () => {
    const plan = planTaskQueues('gatehouse-requests', sharedQueueTable, ['gatehouse-route-bedrock']);
    expect([...plan.routeQueues]).toEqual([
      ['gatehouse-route-bedrock', { maxConcurrent: 8, activitiesPerSecond: 20 }],
    ]);
  });

  it('rejects a queue Gatehouse does not serve, naming it and the known ones', () => {
    expect(() =>
      planTaskQueues('gatehouse-requests', emulatedTable, ['gatehouse-requests', 'gatehouse-route-nova-lit']),
    ).toThrow(
      "task queue 'gatehouse-route-nova-lit' is not served by Gatehouse with route table 2026-11-27.2-emulated; " +
        'known: gatehouse-requests, gatehouse-route-claude-haiku, gatehouse-route-nova-lite, gatehouse-route-extractive',
    );
  });

  it('rejects an empty selection instead of running a process that polls nothing', () => {
    expect(() => planTaskQueues('gatehouse-requests', emulatedTable, [])).toThrow(/no task queue selected/);
  });
});

describe('the worker settings a deployment sets', () => {
  it('reads the task queues to poll, the health port and a prebuilt workflow bundle', () => {
    const settings = readSettings({
      GATEHOUSE_WORKER_TASK_QUEUES: ' gatehouse-route-extractive, gatehouse-requests,,gatehouse-requests ',
      GATEHOUSE_HEALTH_PORT: '8081',
      GATEHOUSE_WORKFLOW_BUNDLE: 'dist/workflow-bundle.js',
    });
    expect(settings.worker).toEqual({
      taskQueues: ['gatehouse-route-extractive', 'gatehouse-requests'],
      healthPort: 8081,
    });
    expect(settings.workflowBundlePath).toBe(path.resolve(__dirname, '../../dist/workflow-bundle.js'));
  });

  it('polls every queue and serves no health endpoints by default', () => {
    expect(readSettings({}).worker).toEqual({ taskQueues: undefined, healthPort: undefined });
  });

  it('rejects a health port that is not a port', () => {
    expect(() => readSettings({ GATEHOUSE_HEALTH_PORT: 'eighty' })).toThrow(/GATEHOUSE_HEALTH_PORT/);
  });
});
