import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import Long from 'long';
import { AUDIT_EVENT_TYPES, TERMINAL_AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { createOpenAiCompatibleProvider } from '../../providers/openai-compatible-provider';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { getBudget, getRunReservations } from '../../store/budget-repository';
import { listUsage } from '../../store/usage-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const MODEL = 'llama-reset';
const PRICE = { input: 2, output: 6 };

function resetTable(suffix: string, endpoint: string): RouteTable {
  return routeTableSchema.parse({
    version: 'reset-test',
    routes: [
      {
        id: 'llama',
        provider: 'openai-compatible',
        model: MODEL,
        label: 'self-hosted Llama (emulated)',
        endpoint,
        priceUsdPerMillionTokens: PRICE,
        contextWindowTokens: 32_000,
        maxOutputTokens: 512,
        dataClasses: ['public', 'internal', 'confidential'],
        taskQueue: `route-llama-${suffix}`,
        timeoutMs: 5_000,
        retry: { maximumAttempts: 2, initialIntervalMs: 20 },
      },
    ],
    tasks: {
      default: { routes: ['llama'], budget: { maxTotalAttempts: 2, maxFallbacks: 0, deadlineMs: 20_000 } },
    },
    breaker: { failureThreshold: 1000, windowMs: 60_000, cooldownMs: 60_000 },
  });
}

interface MatrixRow {
  eventId: number;
  outcome: string;
  runs: number;
  auditEvents: number;
  ledgerCostMicroUsd: number;
  servedCostMicroUsd: number;
  emulatorCalls: number;
}

describe('an operator resets a request that failed at infer, at every workflow task of its history', () => {
  let harness: GatehouseHarness;
  let emulator: OpenAiEmulator;
  let routeDown = true;

  beforeAll(async () => {
    emulator = await startOpenAiCompatibleEmulator({
      script: { [MODEL]: { behaviours: () => (routeDown ? 'unavailable' : 'ok') } },
    });
    harness = await startHarness({
      routeTable: (suffix) => resetTable(suffix, emulator.endpoint),
      providers: { 'openai-compatible': createOpenAiCompatibleProvider({}) },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await emulator?.close();
  });

  /** Cost of the calls the emulator answered for one request (its question carries the request's tag). */
  function servedCost(tag: string): { cost: number; calls: number } {
    const calls = emulator.calls().filter((call) => call.userText?.includes(tag));
    const cost = calls.reduce(
      (total, call) =>
        total +
        (call.usage
          ? Math.ceil(call.usage.promptTokens * PRICE.input + call.usage.completionTokens * PRICE.output)
          : 0),
      0,
    );
    return { cost, calls: calls.length };
  }

  it('ends every reset run honestly, with a true audit trail, ledger and budget', async () => {
    // A reference run tells how many workflow tasks a request failing at infer has.
    const failed = async (tag: string) => {
      const submitted = await harness.gatehouse.submit(
        harness.input({ requestId: `reset-${tag}`, question: `What is the refund policy? [${tag}]` }),
      );
      await expect(harness.gatehouse.result(submitted.workflowId, harness.caller)).rejects.toMatchObject({
        failureType: 'Inference.Exhausted',
      });
      const history = await submitted.handle.fetchHistory();
      const completions = (history.events ?? [])
        .filter((event) => event.workflowTaskCompletedEventAttributes)
        .map((event) => Number(event.eventId));
      return { submitted, runId: (await submitted.handle.describe()).runId, completions };
    };
    routeDown = true;
    const reference = await failed(randomUUID().slice(0, 8));
    const copies = [reference];
    for (let index = 1; index < reference.completions.length; index++)
      copies.push(await failed(randomUUID().slice(0, 8)));
    routeDown = false;

    const spentBefore = (await getBudget(harness.db, 'demo'))!.spentMicroUsd;
    const matrix: MatrixRow[] = [];
    for (const [index, copy] of copies.entries()) {
      const eventId = copy.completions[index]!;
      const workflowId = copy.submitted.workflowId;
      const reset = await harness.client.workflowService.resetWorkflowExecution({
        namespace: harness.client.options.namespace,
        workflowExecution: { workflowId, runId: copy.runId },
        reason: `reset matrix row ${index + 1}`,
        workflowTaskFinishEventId: Long.fromNumber(eventId),
        requestId: randomUUID(),
      });
      const handle = harness.client.workflow.getHandle(workflowId, reset.runId ?? undefined);
      let outcome: string;
      try {
        await handle.result();
        outcome = 'COMPLETED';
      } catch (error) {
        expect(error).toBeInstanceOf(WorkflowFailedError);
        const cause = (error as WorkflowFailedError).cause as { type?: string };
        // The only honest failure left is that the attempt budget was already spent before the reset point.
        expect(cause.type).toBe('Inference.Exhausted');
        outcome = `FAILED ${cause.type}`;
      }
      const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId });
      const runs = [...new Set(events.map((event) => event.runId))];
      // Every run's record closes with that run's real outcome; the new run records the reset.
      for (const runId of runs) {
        const runEvents = events.filter((event) => event.runId === runId);
        const closing = runEvents.filter((event) =>
          (TERMINAL_AUDIT_EVENT_TYPES as readonly string[]).includes(event.eventType),
        );
        expect(closing).toHaveLength(1);
      }
      const newRunEvents = events.filter((event) => event.runId === reset.runId);
      expect(newRunEvents.map((event) => event.eventType)).toContain(AUDIT_EVENT_TYPES.requestReset);
      expect(newRunEvents.map((event) => event.eventType)).toContain(
        outcome === 'COMPLETED' ? AUDIT_EVENT_TYPES.requestSucceeded : AUDIT_EVENT_TYPES.requestFailed,
      );
      const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId });
      const ledgerCost = ledger.reduce((total, row) => total + row.costMicroUsd, 0);
      const tag = copy.submitted.requestId.replace('reset-', '');
      const served = servedCost(tag);
      expect(ledgerCost).toBe(served.cost);
      expect(ledger.filter((row) => row.outcome === 'succeeded')).toHaveLength(
        emulator.calls().filter((call) => call.userText?.includes(tag) && call.usage).length,
      );
      for (const runId of runs) {
        const reservations = await getRunReservations(harness.db, workflowId, runId);
        expect(reservations.filter((reservation) => reservation.state === 'active')).toEqual([]);
      }
      matrix.push({
        eventId,
        outcome,
        runs: runs.length,
        auditEvents: events.length,
        ledgerCostMicroUsd: ledgerCost,
        servedCostMicroUsd: served.cost,
        emulatorCalls: served.calls,
      });
    }
    const chain = await verifyAuditChain(harness.db, 'demo', {
      chainKeyById: harness.audit.keys.chainKeyById,
    });
    expect(chain.ok).toBe(true);
    const budget = (await getBudget(harness.db, 'demo'))!;
    expect(budget.reservedMicroUsd).toBe(0);
    const ledgerTotal = matrix.reduce((total, row) => total + row.ledgerCostMicroUsd, 0);
    expect(budget.spentMicroUsd - spentBefore).toBe(ledgerTotal);
    // The resets before the last attempt all complete; the ones after it fail as they must.
    expect(matrix.filter((row) => row.outcome === 'COMPLETED').length).toBeGreaterThanOrEqual(3);
    process.stdout.write(
      `reset matrix (event id → outcome · runs · audit events · ledger µ$ · served µ$ · emulator calls)\n${matrix
        .map(
          (row) =>
            `  ${String(row.eventId).padStart(3)} → ${row.outcome.padEnd(28)} ${row.runs} · ${String(row.auditEvents).padStart(3)} · ${row.ledgerCostMicroUsd} · ${row.servedCostMicroUsd} · ${row.emulatorCalls}`,
        )
        .join('\n')}\n`,
    );
  });
});
