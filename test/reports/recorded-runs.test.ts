/**
 * The runs `report latency` reads: each run once, however many outcome events it recorded, and none of
 * another tenant's, and nothing for an empty window.
 */
import { newAuditKeys } from '../../governance/audit-key-store';
import { appendAuditEvents, type NewAuditEvent } from '../../store/audit-repository';
import { listRecordedRuns } from '../../store/step-timing-repository';
import { createTestDatabase, type TestDatabase } from '../store/test-database';

const { chainKey } = newAuditKeys();

function outcome(tenantId: string, runId: string, eventType: string, attempt = 1): NewAuditEvent {
  return {
    tenantId,
    workflowId: `gatehouse/${tenantId}/r`,
    runId,
    step: 'record',
    attempt,
    eventType,
    payload: {},
  };
}

describe('listRecordedRuns', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await appendAuditEvents(database.db, chainKey, [
      outcome('demo', 'run-1', 'request.succeeded'),
      // The same run again: a reconciler's outcome besides the run's own.
      outcome('demo', 'run-1', 'request.abandoned', 2),
      // A reset: a second run of the same workflow id.
      outcome('demo', 'run-2', 'request.failed'),
      outcome('acme', 'run-3', 'request.succeeded'),
    ]);
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('lists each run once, newest first, for the tenants asked', async () => {
    const runs = await listRecordedRuns(database.db, {
      tenantIds: ['demo'],
      since: new Date(Date.now() - 3_600_000),
      limit: 10,
    });
    expect(runs.map((run) => run.runId)).toEqual(['run-2', 'run-1']);
  });

  it('lists nothing for a window after every outcome', async () => {
    expect(
      await listRecordedRuns(database.db, {
        tenantIds: ['demo'],
        since: new Date(Date.now() + 60_000),
        limit: 10,
      }),
    ).toEqual([]);
  });
});
