import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newAuditKeys } from '../../governance/audit-key-store';
import { createFileAuditCheckpointSink } from '../../governance/file-audit-checkpoint-sink';
import { AuditRetentionError, pruneAuditTrail } from '../../governance/prune-audit-trail';
import { verifyAuditTrail } from '../../governance/verify-audit-trail';
import { appendAuditEvents, listAuditEvents, type NewAuditEvent } from '../../store/audit-repository';
import { createTestDatabase, rejectionMessage, type TestDatabase } from './test-database';

const keys = newAuditKeys();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function events(tenantId: string, from: number, count: number): NewAuditEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    tenantId,
    workflowId: `gatehouse/${tenantId}/request-${from + index}`,
    runId: 'run-1',
    step: 'record',
    attempt: 0,
    eventType: 'request.succeeded',
    payload: { index: from + index },
  }));
}

describe('audit retention prunes old events and the rest stays verifiable', () => {
  let database: TestDatabase;
  let directory: string;
  let checkpointSink: ReturnType<typeof createFileAuditCheckpointSink>;
  beforeAll(async () => {
    database = await createTestDatabase();
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-retention-'));
    checkpointSink = createFileAuditCheckpointSink(path.join(directory, 'audit-checkpoints.jsonl'));
  });
  afterAll(async () => {
    await database.destroy();
    rmSync(directory, { recursive: true, force: true });
  });

  const verify = (tenantId: string) =>
    verifyAuditTrail(database.db, tenantId, { keys, checkpointSink }).then((report) => report.verdict);

  /** Four old events, a cut-off instant, two new ones. */
  async function chain(tenantId: string): Promise<Date> {
    await appendAuditEvents(database.db, keys.chainKey, events(tenantId, 1, 4));
    await pause(30);
    const before = new Date();
    await pause(30);
    await appendAuditEvents(database.db, keys.chainKey, events(tenantId, 5, 2));
    return before;
  }

  it('removes the events before the cut-off, anchors the new start with a signed checkpoint, and still verifies', async () => {
    const before = await chain('keep');
    const result = await pruneAuditTrail(database.db, {
      tenantId: 'keep',
      before,
      keys,
      checkpointSink,
      now: new Date(),
    });
    expect(result).toEqual({ pruned: 4, prunedThroughSeq: 4, prunedContents: 0 });
    expect((await listAuditEvents(database.db, { tenantId: 'keep' })).map((event) => event.seq)).toEqual([
      5, 6,
    ]);
    expect(await verify('keep')).toMatchObject({ ok: true, checked: 2, headSeq: 6 });
    // Pruning again changes nothing; appends continue the chain.
    expect(
      await pruneAuditTrail(database.db, { tenantId: 'keep', before, keys, checkpointSink, now: new Date() }),
    ).toEqual({ pruned: 0, prunedThroughSeq: 4, prunedContents: 0 });
    await appendAuditEvents(database.db, keys.chainKey, events('keep', 7, 1));
    expect(await verify('keep')).toMatchObject({ ok: true, checked: 3, headSeq: 7 });
    // What retention kept is still append-only.
    expect(
      await rejectionMessage(database.db('audit_events').where({ tenant_id: 'keep', seq: 5 }).delete()),
    ).toMatch(/append-only: DELETE is not allowed/);
  });

  it('never removes the head', async () => {
    await appendAuditEvents(database.db, keys.chainKey, events('young', 1, 2));
    await pause(20);
    const result = await pruneAuditTrail(database.db, {
      tenantId: 'young',
      before: new Date(),
      keys,
      checkpointSink,
      now: new Date(),
    });
    expect(result).toEqual({ pruned: 1, prunedThroughSeq: 1, prunedContents: 0 });
    expect(await verify('young')).toMatchObject({ ok: true, checked: 1, headSeq: 2 });
  });

  it('detects a prune faked by SQL: a start no signed checkpoint witnessed', async () => {
    await chain('faked');
    const [, second] = await listAuditEvents(database.db, { tenantId: 'faked' });
    await database.db('audit_retention').insert({
      tenant_id: 'faked',
      pruned_through_seq: 2,
      pruned_through_hash: second!.hash,
      pruned_at: new Date().toISOString(),
    });
    await database.db('audit_events').where({ tenant_id: 'faked' }).andWhere('seq', '<=', 2).delete();
    const verdict = await verify('faked');
    expect(verdict).toMatchObject({ ok: false, firstBadSeq: 1 });
    expect(verdict.ok === false && verdict.reason).toMatch(/no signed checkpoint witnessed that start/);
  });

  it('refuses to prune a chain that does not verify', async () => {
    const before = await chain('broken');
    await database.db.raw(
      database.postgres
        ? 'DROP TRIGGER audit_events_reject_update ON audit_events'
        : 'DROP TRIGGER audit_events_reject_update',
    );
    await database
      .db('audit_events')
      .where({ tenant_id: 'broken', seq: 2 })
      .update({ payload: '{"index":0}' });
    await expect(
      pruneAuditTrail(database.db, { tenantId: 'broken', before, keys, checkpointSink, now: new Date() }),
    ).rejects.toThrow(AuditRetentionError);
    expect(await listAuditEvents(database.db, { tenantId: 'broken' })).toHaveLength(6);
  });
});
