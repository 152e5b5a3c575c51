import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { getBudget, listOpenReservations } from '../../store/budget-repository';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { compareLedger, startFleet, type Fleet } from './fleet';
import { startOutage, type Outage } from './outages';
import { eventually, report, scaled } from './processes';

const PER_WAVE = scaled(6, 30);

describe('the app database away for 10 s, then read-only for 20 s', () => {
  let fleet: Fleet;
  let location: { databaseUrl?: string; sqliteFile?: string };
  let submittedTotal = 0;
  beforeAll(async () => {
    fleet = await startFleet({ address: getTestTemporalAddress(), latencyMs: 300 });
    location = fleet.location;
    await fleet.startWorker('worker');
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /** One wave in flight when the outage starts and one submitted during it; all must succeed after. */
  async function throughOutage(kind: Outage['kind'], durationMs: number) {
    const wave = (name: string) =>
      Promise.all(
        Array.from({ length: PER_WAVE }, (_, index) =>
          fleet.gatehouse.submit(
            fleet.input({
              requestId: `${kind}-${name}-${index}`,
              question: `What is the refund policy? (${name} ${index})`,
            }),
          ),
        ),
      );
    const callsBefore = fleet.emulator.callCount();
    const started = Date.now();
    const inFlight = await wave('before');
    await eventually('the first wave to reach the model', async () =>
      fleet.emulator.callCount() > callsBefore ? true : undefined,
    );
    const outage = await startOutage(location, kind);
    const outageStarted = Date.now();
    const during = await wave('during');
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, durationMs - (Date.now() - outageStarted))),
    );
    await outage.end();
    const outageMs = Date.now() - outageStarted;
    const submitted = [...inFlight, ...during];
    submittedTotal += submitted.length;
    const results = await Promise.all(
      submitted.map(async ({ workflowId }) => {
        await fleet.gatehouse.result(workflowId, { tenantId: 'demo', apiKey: fleet.apiKey });
        return Date.now() - started;
      }),
    );
    expect(results).toHaveLength(submitted.length);
    return { outage, outageMs, lastDoneMs: Math.max(...results), requests: submitted.length };
  }

  it('finishes every request without losing or doubling an audit or ledger row', async () => {
    const away = await throughOutage('away', 10_000);
    const readOnly = await throughOutage('read-only', 20_000);

    const events = await listAuditEvents(fleet.db, { tenantId: 'demo' });
    const closings = events.filter((event) => event.eventType === AUDIT_EVENT_TYPES.requestSucceeded);
    expect(closings).toHaveLength(submittedTotal);
    const slots = new Set(
      events.map((event) => `${event.workflowId}/${event.runId}/${event.step}/${event.attempt}`),
    );
    expect(slots.size).toBe(events.length);
    const ledger = await compareLedger(fleet);
    expect(ledger.chargedRows).toBe(ledger.billedCalls);
    expect(ledger.ledgerTokens).toBe(ledger.billedTokens);
    const verification = await verifyAuditChain(fleet.db, 'demo', {
      chainKeyById: fleet.auditKeys.chainKeyById,
    });
    expect(verification.ok).toBe(true);
    await eventually('every reservation to be settled', async () =>
      (await listOpenReservations(fleet.db)).length === 0 ? true : undefined,
    );
    const budget = await getBudget(fleet.db, 'demo');
    expect(budget?.reservedMicroUsd).toBe(0);
    expect(budget?.spentMicroUsd).toBe(ledger.rows.reduce((sum, row) => sum + row.costMicroUsd, 0));

    for (const [name, phase] of [
      ['database away', away],
      ['database read-only', readOnly],
    ] as const) {
      report(name, {
        how: phase.outage.how,
        requests: phase.requests,
        'outage (ms)': phase.outageMs,
        'last request done after (ms)': phase.lastDoneMs,
      });
    }
    report('database outages, totals', {
      requests: submittedTotal,
      'closing audit events': closings.length,
      'billed calls': ledger.billedCalls,
      'ledger rows charged': ledger.chargedRows,
      'open reservations': 0,
      'chain verifies': verification.ok,
    });
  });
});
