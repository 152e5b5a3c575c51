import { randomBytes } from 'node:crypto';
import { RequestConflictError } from '../../client/errors';
import { EXIT_CODES } from '../../client/cli-context';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { POLICY_OPTIONAL_STEPS, STEP_ACTIVITY_TYPES, STEP_NAMES } from '../../domain/step-names';
import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { createOpenAiCompatibleProvider } from '../../providers/openai-compatible-provider';
import { listAuditEvents } from '../../store/audit-repository';
import { getBudget, getRunReservations } from '../../store/budget-repository';
import { listUsage } from '../../store/usage-repository';
import { ensureReconcilerSchedule } from '../../worker/reconciler-schedule';
import { saveHistoryIfRecording } from '../support/history-recording';
import { scheduledActivityTypes, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

const SLOW = 'slow-llama';
const FLAKY = 'flaky-llama';
const SLOW_MS = 10_000;
const RECONCILE_EVERY_MS = 2_000;

function lifecycleTable(suffix: string, endpoint: string): RouteTable {
  const route = (id: string, model: string) => ({
    id,
    provider: 'openai-compatible',
    model,
    label: `${model} (emulated)`,
    endpoint,
    priceUsdPerMillionTokens: { input: 1, output: 2 },
    contextWindowTokens: 32_000,
    maxOutputTokens: 512,
    dataClasses: ['public', 'internal', 'confidential'],
    taskQueue: `route-${id}-${suffix}`,
    timeoutMs: 30_000,
    retry: { maximumAttempts: 2, initialIntervalMs: 20 },
  });
  return routeTableSchema.parse({
    version: 'lifecycle-test',
    routes: [route('flaky', FLAKY), route('slow', SLOW)],
    tasks: {
      default: { routes: ['flaky'], budget: { maxTotalAttempts: 2, maxFallbacks: 0 } },
      summarize: { routes: ['slow'], budget: { maxTotalAttempts: 1, maxFallbacks: 0, deadlineMs: 60_000 } },
    },
    breaker: { failureThreshold: 1000, windowMs: 60_000, cooldownMs: 60_000 },
  });
}

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('operator actions leave a true record', () => {
  let harness: GatehouseHarness;
  let emulator: OpenAiEmulator;
  let flakyDown = false;

  beforeAll(async () => {
    emulator = await startOpenAiCompatibleEmulator({
      script: {
        [SLOW]: { latencyMs: SLOW_MS },
        [FLAKY]: { behaviours: () => (flakyDown ? 'unavailable' : 'ok') },
      },
    });
    harness = await startHarness({
      routeTable: (suffix) => lifecycleTable(suffix, emulator.endpoint),
      providers: { 'openai-compatible': createOpenAiCompatibleProvider({}) },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await emulator?.close();
  });

  const tag = () => randomBytes(4).toString('hex');
  const slowRequest = (id: string) =>
    harness.gatehouse.submit(
      harness.input({
        requestId: id,
        taskType: 'summarize',
        question: `Summarise the refund policy [${id}]`,
      }),
    );
  const callOf = (id: string) => emulator.calls().find((call) => call.userText?.includes(id));

  it('cancel during a slow model call: the provider connection closes within 2 s and the attempt is in the ledger', async () => {
    const id = `cancel-${tag()}`;
    const submitted = await slowRequest(id);
    await eventually('the model call', async () => callOf(id));
    const cancelledAt = Date.now();
    await harness.gatehouse.cancel(submitted.workflowId, harness.caller, 'the user left');
    const error = await harness.gatehouse
      .result(submitted.workflowId, harness.caller)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ failureType: 'Request.Cancelled' });
    const call = await eventually(
      'the emulator to see the connection close',
      async () => callOf(id)?.disconnectedAt,
    );
    expect(call - cancelledAt).toBeLessThanOrEqual(2_000);

    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    expect(ledger).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'cancelled', usageEstimated: true }),
    ]);
    expect(ledger[0]!.inputTokens).toBeGreaterThan(0);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const closing = events.find((event) => event.eventType === AUDIT_EVENT_TYPES.requestCancelled);
    expect(closing?.payload).toMatchObject({ cancel: { by: 'the requester', reason: 'the user left' } });
    const runId = (await submitted.handle.describe()).runId;
    const reservations = await getRunReservations(harness.db, submitted.workflowId, runId);
    expect(reservations.every((reservation) => reservation.state === 'settled')).toBe(true);
  });

  it('terminate during a model call: within one reconciler period the run is recorded and its reservation settled', async () => {
    const scheduleId = `reconciler-${tag()}`;
    await ensureReconcilerSchedule(harness.client, {
      taskQueue: harness.taskQueue,
      intervalMs: RECONCILE_EVERY_MS,
      scheduleId,
      input: { graceMs: 0, lookbackMs: 3600_000 },
    });
    try {
      const id = `terminate-${tag()}`;
      const submitted = await slowRequest(id);
      await eventually('the model call', async () => callOf(id));
      const run = await runCli(
        harness.cliSettings(),
        'requests',
        'terminate',
        id,
        '--reason',
        'stuck behind a slow model',
      );
      expect(run).toMatchObject({ exitCode: 0 });
      const terminatedAt = Date.now();
      const runId = (await submitted.handle.describe()).runId;
      const terminated = await eventually('request.terminated', async () =>
        (await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId })).find(
          (event) => event.eventType === AUDIT_EVENT_TYPES.requestTerminated,
        ),
      );
      expect(Date.now() - terminatedAt).toBeLessThanOrEqual(2 * RECONCILE_EVERY_MS + 3_000);
      expect(terminated.runId).toBe(runId);
      expect(terminated.payload).toMatchObject({
        temporalStatus: 'TERMINATED',
        reason: expect.stringContaining('stuck behind a slow model'),
      });
      const operator = (
        await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId })
      ).find((event) => event.eventType === AUDIT_EVENT_TYPES.operatorTerminate);
      expect(operator?.payload).toEqual({ operator: 'demo-analyst', reason: 'stuck behind a slow model' });
      const reservations = await getRunReservations(harness.db, submitted.workflowId, runId);
      expect(reservations.length).toBeGreaterThan(0);
      expect(reservations.every((reservation) => reservation.state === 'settled')).toBe(true);

      const list = await runCli(harness.cliSettings(), 'requests', 'list', '--limit', '50');
      const row = list.stdout.split('\n').find((line) => line.includes(submitted.workflowId));
      expect(row).toMatch(/TERMINATED\s+terminated/);
      await saveHistoryIfRecording(
        harness.client.workflow.getHandle(submitted.workflowId, runId),
        'terminated-during-infer',
      );
    } finally {
      await harness.client.schedule.getHandle(scheduleId).delete();
    }
  });

  // Holding the audit table is how a test keeps `record` running on demand; SQLite can only lock the whole
  // database, which would stop the steps before it too. The code path is the same on both stores.
  const onPostgres = Boolean(process.env.DATABASE_URL);
  (onPostgres ? it : it.skip)(
    'a cancel that arrives while a success is being recorded lets the record finish: the request completes',
    async () => {
      const id = `cancel-in-record-${tag()}`;
      const lock = await harness.db.transaction();
      try {
        await lock.raw('LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE');
        const submitted = await harness.gatehouse.submit(harness.input({ requestId: id }));
        await eventually('record to be running', async () => {
          const description = await submitted.handle.describe();
          const recording = description.raw.pendingActivities?.some(
            (activity) => activity.activityType?.name === STEP_ACTIVITY_TYPES.record,
          );
          return recording ? true : undefined;
        });
        await harness.gatehouse.cancel(submitted.workflowId, harness.caller, 'changed my mind');
        await lock.commit();
        const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
        expect(result.output.length).toBeGreaterThan(0);
        expect((await submitted.handle.describe()).status.name).toBe('COMPLETED');
        const events = await listAuditEvents(harness.db, {
          tenantId: 'demo',
          workflowId: submitted.workflowId,
        });
        expect(events.map((event) => event.eventType)).toContain(AUDIT_EVENT_TYPES.requestSucceeded);
        expect(events.map((event) => event.eventType)).not.toContain(AUDIT_EVENT_TYPES.requestCancelled);
        const reservations = await getRunReservations(harness.db, submitted.workflowId, result.runId);
        expect(reservations.every((reservation) => reservation.state === 'settled')).toBe(true);
      } finally {
        if (!lock.isCompleted()) await lock.rollback();
      }
    },
  );

  it('refuses the same request id with a different question, before anything starts', async () => {
    const id = `conflict-${tag()}`;
    await harness.gatehouse.execute(harness.input({ requestId: id, question: 'What is the refund policy?' }));
    const error = await harness.gatehouse
      .submit(harness.input({ requestId: id, question: 'What is the warranty?' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestConflictError);
    expect((error as RequestConflictError).differingFields).toEqual(['question']);
    const cli = await runCli(harness.cliSettings(), 'ask', '--request-id', id, 'What is the warranty?');
    expect(cli.exitCode).toBe(EXIT_CODES.conflict);
    expect(cli.stderr).toMatch(/Request conflict: Request\.Conflict: .* different question/);
    const runs: string[] = [];
    for await (const execution of harness.client.workflow.list({
      query: `WorkflowId = 'gatehouse/demo/${id}'`,
    })) {
      runs.push(execution.runId);
    }
    expect(runs.length).toBeLessThanOrEqual(1);
  });

  it('`requests retry` resets a request that failed at infer; the new run completes without re-running earlier steps', async () => {
    flakyDown = true;
    const id = `retry-${tag()}`;
    const submitted = await harness.gatehouse.submit(harness.input({ requestId: id }));
    await expect(harness.gatehouse.result(submitted.workflowId, harness.caller)).rejects.toMatchObject({
      failureType: 'Inference.Exhausted',
    });
    flakyDown = false;
    const retried = await runCli(harness.cliSettings(), 'requests', 'retry', id, '--reason', 'route healed');
    expect(retried.exitCode).toBe(0);
    const newRunId = /New run:\s+(\S+)/.exec(retried.stdout)?.[1];
    expect(newRunId).toBeDefined();
    expect(retried.stdout).toMatch(/from 'infer'/);
    const handle = harness.client.workflow.getHandle(submitted.workflowId, newRunId);
    await handle.result();
    // Each step appears once in the new run's history: the steps before infer were copied, not re-run.
    expect(await scheduledActivityTypes(handle)).toEqual([
      ...STEP_NAMES.filter(
        (step) =>
          !POLICY_OPTIONAL_STEPS.includes(step) &&
          step !== 'infer' &&
          step !== 'validate' &&
          step !== 'record',
      ).map((step) => STEP_ACTIVITY_TYPES[step]),
      'infer',
      'validate',
      'record',
    ]);
    const show = await runCli(harness.cliSettings(), 'requests', 'show', id);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toMatch(/Run 1\s+\S+\s+failed/);
    expect(show.stdout).toMatch(/Run 2\s+\S+\s+succeeded/);
    expect(show.stdout).toMatch(/operator\.retry by demo-analyst: route healed/);
    expect(show.stdout).toMatch(/reset from run \S+ at event \d+/);
    await saveHistoryIfRecording(handle, 'reset-after-failed-infer');
  });

  it('`requests retry --query` resets every matching failed request through Temporal batch operations', async () => {
    flakyDown = true;
    const ids = [`bulk-${tag()}`, `bulk-${tag()}`];
    for (const id of ids) {
      const submitted = await harness.gatehouse.submit(
        harness.input({ requestId: id, feature: 'bulk-test' }),
      );
      await expect(harness.gatehouse.result(submitted.workflowId, harness.caller)).rejects.toMatchObject({
        failureType: 'Inference.Exhausted',
      });
    }
    flakyDown = false;
    const query = `Feature = 'bulk-test' AND ExecutionStatus = 'Failed' AND TenantId = 'demo'`;
    await eventually('visibility to list the failed requests', async () =>
      (await harness.client.workflow.count(query)).count >= ids.length ? true : undefined,
    );
    const bulk = await runCli(
      harness.cliSettings(),
      'requests',
      'retry',
      '--query',
      "Feature = 'bulk-test'",
      '--yes',
      '--reason',
      'bulk heal',
    );
    expect(bulk.stderr).toMatch(/\[#{20}\] 2\/2/);
    expect(bulk.stdout).toMatch(/Reset 2 of 2 request\(s\) \(0 failed\)/);
    for (const id of ids) {
      const workflowId = `gatehouse/demo/${id}`;
      const latest = await eventually(
        'the reset run to finish',
        async () => {
          const description = await harness.client.workflow.getHandle(workflowId).describe();
          return description.status.name === 'COMPLETED' ? description : undefined;
        },
        30_000,
      );
      const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId });
      expect(events.filter((event) => event.runId === latest.runId).map((event) => event.eventType)).toEqual(
        expect.arrayContaining([AUDIT_EVENT_TYPES.requestReset, AUDIT_EVENT_TYPES.requestSucceeded]),
      );
    }
    expect((await getBudget(harness.db, 'demo'))!.reservedMicroUsd).toBe(0);
  });
});
