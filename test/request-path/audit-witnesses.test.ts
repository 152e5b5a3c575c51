import { listAuditEvents } from '../../store/audit-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

/**
 * Temporal history as an independent witness of the audit chain: each request's `record` result carries
 * the chain head it produced, and `gatehouse audit verify` reads those heads back.
 */
describe('audit verify against checkpoints and Temporal history', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function ask(requestId: string): Promise<string> {
    const submitted = await harness.gatehouse.submit(harness.input({ requestId }));
    await harness.gatehouse.result(submitted.workflowId, harness.caller);
    return submitted.workflowId;
  }

  /** Verifies until visibility lists every request (it lags the runs by a moment). */
  async function verifyWithWitnesses(minimum: number): Promise<string> {
    for (let tries = 0; ; tries++) {
      const run = await runCli(harness.cliSettings(), 'audit', 'verify', '--tenant', 'demo');
      const witnessed = Number(/(\d+) head\(s\) witnessed/.exec(run.stdout)?.[1] ?? 0);
      if (witnessed >= minimum || tries >= 40) return run.stdout;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('names the request whose events were cut from the tail with the head moved back', async () => {
    const first = await ask('witness-1');
    const checkpoint = await runCli(harness.cliSettings(), 'audit', 'checkpoint', '--tenant', 'demo');
    expect(checkpoint.stdout).toMatch(/checkpoint: tenant 'demo' at #\d+/);
    const second = await ask('witness-2');

    const clean = await verifyWithWitnesses(2);
    expect(clean).toMatch(/audit chain of 'demo' verifies: \d+ event\(s\)/);
    expect(clean).toMatch(/1 signed checkpoint\(s\)/);

    // The record result in history carries the head, an opaque hash: no content.
    const history = await harness.client.workflow.getHandle(second).fetchHistory();
    expect(JSON.stringify(history)).not.toMatch(/refund policy/i);

    const events = await listAuditEvents(harness.db, { tenantId: 'demo' });
    const lastOfFirst = Math.max(
      ...events.filter((event) => event.workflowId === first).map((event) => event.seq),
    );
    const kept = events.find((event) => event.seq === lastOfFirst)!;
    const postgres = Boolean(process.env.DATABASE_URL);
    await harness.db.raw(
      postgres
        ? 'DROP TRIGGER audit_events_reject_delete ON audit_events'
        : 'DROP TRIGGER audit_events_reject_delete',
    );
    await harness.db('audit_events').where({ tenant_id: 'demo' }).where('seq', '>', lastOfFirst).delete();
    await harness
      .db('audit_heads')
      .where({ tenant_id: 'demo' })
      .update({ seq: lastOfFirst, hash: kept.hash });

    // The checkpoint was taken before the second request: only its history can tell.
    const withoutHistory = await runCli(
      harness.cliSettings(),
      'audit',
      'verify',
      '--tenant',
      'demo',
      '--no-history',
    );
    expect(withoutHistory.stdout).toMatch(/verifies/);
    const verdict = await runCli(harness.cliSettings(), 'audit', 'verify', '--tenant', 'demo');
    expect(verdict.exitCode).toBe(1);
    expect(verdict.stdout).toContain(
      `is BROKEN at #${lastOfFirst + 1} (request ${second}): the history of ${second}`,
    );
    expect(verdict.stdout).toMatch(/events were removed from the end and the head moved back/);
  });
});
