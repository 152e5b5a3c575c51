import type { LlmResult } from '../../domain/step-contracts';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { callsInFlight, compareLedger, startFleet, type Fleet } from './fleet';
import { eventually, report, runsOf, scaled } from './processes';

const REQUESTS = scaled(12, 48);
const MODEL_LATENCY_MS = scaled(6_000, 12_000);

describe('a worker SIGKILLed during inference, then restarted', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      address: getTestTemporalAddress(),
      latencyMs: MODEL_LATENCY_MS,
      heartbeatTimeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('completes every request once, charges exactly what the provider billed and keeps the chain whole', async () => {
    const first = await fleet.startWorker('first');
    await fleet.startWorker('second');

    const submitted = await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        fleet.gatehouse.submit(
          fleet.input({ requestId: `kill-${index}`, question: `What is the refund policy? (${index})` }),
        ),
      ),
    );
    // Every call is in flight and none answered yet, so the kill lands inside inference, never between
    // the provider's answer and the ledger write.
    await eventually('every request to be waiting on the model', async () =>
      callsInFlight(fleet.emulator) === REQUESTS ? true : undefined,
    );
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const abandoned = fleet.emulator.calls().filter((call) => call.disconnectedAt !== undefined).length;
    await fleet.startWorker('first-restarted');

    const results = await Promise.all(
      submitted.map(({ workflowId }) =>
        fleet.gatehouse.result(workflowId, { tenantId: 'demo', apiKey: fleet.apiKey }),
      ),
    );
    const recoveredMs = Date.now() - killedAt;
    // result() throws for a request that did not succeed.
    expect(results.map((result: LlmResult) => result.workflowId)).toEqual(
      submitted.map(({ workflowId }) => workflowId),
    );

    // Once: no request was run twice, and each has one closing record.
    for (const { workflowId } of submitted)
      expect({ workflowId, runs: await runsOf(fleet.client, workflowId) }).toEqual({ workflowId, runs: 1 });
    const events = await listAuditEvents(fleet.db, { tenantId: 'demo' });
    const closings = events.filter((event) => event.eventType === AUDIT_EVENT_TYPES.requestSucceeded);
    expect(closings).toHaveLength(REQUESTS);
    const slots = new Set(
      events.map((event) => `${event.workflowId}/${event.runId}/${event.step}/${event.attempt}`),
    );
    expect(slots.size).toBe(events.length);

    const ledger = await compareLedger(fleet);
    expect(ledger.billedCalls).toBe(REQUESTS);
    expect(ledger.chargedRows).toBe(ledger.billedCalls);
    expect(ledger.ledgerTokens).toBe(ledger.billedTokens);
    const verification = await verifyAuditChain(fleet.db, 'demo', {
      chainKeyById: fleet.auditKeys.chainKeyById,
    });
    expect(verification.ok).toBe(true);

    report('worker SIGKILL mid-inference', {
      requests: REQUESTS,
      'calls cut by the kill': abandoned,
      'provider calls': fleet.emulator.callCount(),
      'billed calls': ledger.billedCalls,
      'ledger rows charged': ledger.chargedRows,
      'billed tokens': ledger.billedTokens,
      'ledger tokens': ledger.ledgerTokens,
      'audit events': events.length,
      'all done after kill (ms)': recoveredMs,
      'chain verifies': verification.ok,
    });
    expect(abandoned).toBeGreaterThan(0);
  });
});
