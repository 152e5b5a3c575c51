import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AUDIT_HASH_VERSIONS,
  canonicalAuditEvent,
  GENESIS_HASH,
  hashEvent,
  keyedHashEvent,
} from '../../governance/audit-chain';
import { signAuditCheckpoint } from '../../governance/audit-checkpoint';
import { newAuditKeys } from '../../governance/audit-key-store';
import { canonicalJson } from '../../governance/canonical-json';
import { createFileAuditCheckpointSink } from '../../governance/file-audit-checkpoint-sink';
import { verifyAuditTrail } from '../../governance/verify-audit-trail';
import { writeAuditCheckpoints } from '../../governance/write-audit-checkpoints';
import {
  appendAuditEvents,
  listAuditEvents,
  type AuditEvent,
  type NewAuditEvent,
} from '../../store/audit-repository';
import { createTestDatabase, type TestDatabase } from './test-database';

const keys = newAuditKeys();

function events(tenantId: string, count: number): NewAuditEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    tenantId,
    workflowId: `gatehouse/${tenantId}/request-${index + 1}`,
    runId: 'run-1',
    step: 'record',
    attempt: 0,
    eventType: 'request.succeeded',
    payload: { index, costUsd: 0.01 },
  }));
}

/** A row as a tamperer writes it with SQL, hashed by `hash` (the project's code, without the key). */
function row(event: Omit<AuditEvent, 'hash' | 'hashVersion' | 'hashKeyId'>, hash: string, version: number) {
  return {
    tenant_id: event.tenantId,
    seq: event.seq,
    workflow_id: event.workflowId,
    execution_id: event.runId,
    step: event.step,
    attempt: event.attempt,
    event_type: event.eventType,
    payload: canonicalJson(event.payload),
    prev_hash: event.prevHash,
    hash,
    hash_version: version,
    hash_key_id: version === AUDIT_HASH_VERSIONS.hmacSha256 ? keys.chainKey.id : null,
    created_at: event.createdAt,
  };
}

describe('audit verify detects every kind of tampering (keyed chain, signed checkpoints)', () => {
  let database: TestDatabase;
  let directory: string;
  let checkpointSink: ReturnType<typeof createFileAuditCheckpointSink>;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Tampering means someone bypassed the guard: drop the triggers, as a DBA with DDL rights could.
    for (const trigger of ['audit_events_reject_update', 'audit_events_reject_delete']) {
      await database.db.raw(
        database.postgres ? `DROP TRIGGER ${trigger} ON audit_events` : `DROP TRIGGER ${trigger}`,
      );
    }
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-tamper-'));
    checkpointSink = createFileAuditCheckpointSink(path.join(directory, 'audit-checkpoints.jsonl'));
  });
  afterAll(async () => {
    await database.destroy();
    rmSync(directory, { recursive: true, force: true });
  });

  const verify = (tenantId: string) =>
    verifyAuditTrail(database.db, tenantId, { keys, checkpointSink }).then((report) => report.verdict);

  /** Five events and a signed checkpoint of their head, verified clean before the tampering. */
  async function chain(tenantId: string, options: { checkpoint?: boolean } = {}): Promise<AuditEvent[]> {
    await appendAuditEvents(database.db, keys.chainKey, events(tenantId, 5));
    if (options.checkpoint !== false) {
      await writeAuditCheckpoints(database.db, { keys, checkpointSink }, { now: new Date(), tenantId });
    }
    expect(await verify(tenantId)).toMatchObject({ ok: true, checked: 5, headSeq: 5 });
    return listAuditEvents(database.db, { tenantId });
  }

  it('an edited row', async () => {
    await chain('edit');
    await database
      .db('audit_events')
      .where({ tenant_id: 'edit', seq: 2 })
      .update({ payload: '{"index":99}' });
    expect(await verify('edit')).toMatchObject({
      ok: false,
      checked: 1,
      firstBadSeq: 2,
      firstBadWorkflowId: 'gatehouse/edit/request-2',
    });
  });

  it('a deleted row', async () => {
    await chain('delete');
    await database.db('audit_events').where({ tenant_id: 'delete', seq: 3 }).delete();
    const verdict = await verify('delete');
    expect(verdict).toMatchObject({ ok: false, checked: 2, firstBadSeq: 3 });
    expect(verdict.ok === false && verdict.reason).toMatch(/seq 3 is missing/);
  });

  it('reordered rows', async () => {
    await chain('reorder');
    const rows = database.db('audit_events').where({ tenant_id: 'reorder' });
    await rows.clone().where({ seq: 2 }).update({ seq: 1000 });
    await rows.clone().where({ seq: 3 }).update({ seq: 2 });
    await rows.clone().where({ seq: 1000 }).update({ seq: 3 });
    expect(await verify('reorder')).toMatchObject({
      ok: false,
      checked: 1,
      firstBadSeq: 2,
      firstBadWorkflowId: 'gatehouse/reorder/request-3',
    });
  });

  it('a row inserted in the middle, linked and hashed with the project code but without the key', async () => {
    const stored = await chain('insert');
    for (const seq of [5, 4, 3]) {
      await database
        .db('audit_events')
        .where({ tenant_id: 'insert', seq })
        .update({ seq: seq + 1 });
    }
    const forged = {
      tenantId: 'insert',
      seq: 3,
      workflowId: 'gatehouse/insert/forged',
      runId: 'run-1',
      step: 'authorize',
      attempt: 1,
      eventType: 'approval.approved',
      payload: { by: 'mallory' },
      prevHash: stored[1]!.hash,
      createdAt: new Date().toISOString(),
    };
    const guessedKey = { id: keys.chainKey.id, material: Buffer.alloc(32, 7) };
    await database
      .db('audit_events')
      .insert(
        row(
          forged,
          keyedHashEvent(guessedKey, forged.prevHash, canonicalAuditEvent(forged)),
          AUDIT_HASH_VERSIONS.hmacSha256,
        ),
      );
    expect(await verify('insert')).toMatchObject({
      ok: false,
      checked: 2,
      firstBadSeq: 3,
      firstBadWorkflowId: 'gatehouse/insert/forged',
    });
  });

  it('the tail truncated and the head moved back: caught by the signed checkpoint', async () => {
    const stored = await chain('truncate');
    await database.db('audit_events').where({ tenant_id: 'truncate' }).where('seq', '>', 3).delete();
    await database
      .db('audit_heads')
      .where({ tenant_id: 'truncate' })
      .update({ seq: 3, hash: stored[2]!.hash });
    const verdict = await verify('truncate');
    expect(verdict).toMatchObject({ ok: false, checked: 3, firstBadSeq: 4 });
    expect(verdict.ok === false && verdict.reason).toMatch(
      /witnessed the chain at seq 5, but it ends at seq 3: events were removed from the end and the head moved back/,
    );
  });

  it('the tail truncated and the head moved back before any checkpoint: the database alone cannot tell', async () => {
    // Why checkpoints exist: this is the gap the issue reported, shown still open without them.
    const stored = await chain('unanchored', { checkpoint: false });
    await database.db('audit_events').where({ tenant_id: 'unanchored' }).where('seq', '>', 3).delete();
    await database
      .db('audit_heads')
      .where({ tenant_id: 'unanchored' })
      .update({ seq: 3, hash: stored[2]!.hash });
    expect(await verify('unanchored')).toMatchObject({ ok: true, checked: 3 });
  });

  it('an edit with the chain recomputed forward by the project code, unkeyed (version 1) hashes', async () => {
    const stored = await chain('recompute');
    let prevHash = stored[0]!.hash;
    for (const event of stored.slice(1)) {
      const changed = {
        ...event,
        prevHash,
        payload: event.seq === 2 ? { index: 1, costUsd: 0 } : event.payload,
      };
      const hash = hashEvent(prevHash, canonicalAuditEvent(changed));
      await database
        .db('audit_events')
        .where({ tenant_id: 'recompute', seq: event.seq })
        .update({
          payload: canonicalJson(changed.payload),
          prev_hash: prevHash,
          hash,
          hash_version: 1,
          hash_key_id: null,
        });
      prevHash = hash;
    }
    await database.db('audit_heads').where({ tenant_id: 'recompute' }).update({ hash: prevHash });
    const verdict = await verify('recompute');
    expect(verdict).toMatchObject({
      ok: false,
      checked: 1,
      firstBadSeq: 2,
      firstBadWorkflowId: 'gatehouse/recompute/request-2',
    });
    expect(verdict.ok === false && verdict.reason).toMatch(/unkeyed hash after keyed ones/);
  });

  it('an edit with the chain recomputed forward by the project code under a guessed key', async () => {
    const stored = await chain('rekey');
    const guessedKey = { id: keys.chainKey.id, material: Buffer.alloc(32, 1) };
    let prevHash = stored[0]!.hash;
    for (const event of stored.slice(1)) {
      const changed = { ...event, prevHash, eventType: event.seq === 2 ? 'request.failed' : event.eventType };
      const hash = keyedHashEvent(guessedKey, prevHash, canonicalAuditEvent(changed));
      await database
        .db('audit_events')
        .where({ tenant_id: 'rekey', seq: event.seq })
        .update({ event_type: changed.eventType, prev_hash: prevHash, hash });
      prevHash = hash;
    }
    await database.db('audit_heads').where({ tenant_id: 'rekey' }).update({ hash: prevHash });
    expect(await verify('rekey')).toMatchObject({ ok: false, checked: 1, firstBadSeq: 2 });
  });

  it('a chain recomputed with the stolen chain key: the signed checkpoints still disagree', async () => {
    await appendAuditEvents(database.db, keys.chainKey, events('stolen', 1));
    await writeAuditCheckpoints(
      database.db,
      { keys, checkpointSink },
      { now: new Date(), tenantId: 'stolen' },
    );
    await appendAuditEvents(database.db, keys.chainKey, events('stolen', 5).slice(1));
    await writeAuditCheckpoints(
      database.db,
      { keys, checkpointSink },
      { now: new Date(), tenantId: 'stolen' },
    );
    const stored = await listAuditEvents(database.db, { tenantId: 'stolen' });
    let prevHash = stored[0]!.hash;
    for (const event of stored.slice(1)) {
      const changed = {
        ...event,
        prevHash,
        payload: event.seq === 3 ? { index: 2, costUsd: 0 } : event.payload,
      };
      const hash = keyedHashEvent(keys.chainKey, prevHash, canonicalAuditEvent(changed));
      await database
        .db('audit_events')
        .where({ tenant_id: 'stolen', seq: event.seq })
        .update({ payload: canonicalJson(changed.payload), prev_hash: prevHash, hash });
      prevHash = hash;
    }
    await database.db('audit_heads').where({ tenant_id: 'stolen' }).update({ hash: prevHash });
    const verdict = await verify('stolen');
    // The checkpoint at #1 still agrees, the one at #5 does not: the rewrite starts after #1.
    expect(verdict).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(verdict.ok === false && verdict.reason).toMatch(/differs from what the checkpoint signed at/);
  });

  it('a checkpoint forged or altered in the sink', async () => {
    await chain('forged-checkpoint');
    const otherKeys = newAuditKeys();
    const forged = signAuditCheckpoint(
      {
        version: 1,
        tenantId: 'forged-checkpoint',
        seq: 2,
        headHash: GENESIS_HASH,
        at: new Date().toISOString(),
        signingKeyId: keys.signing.keyId,
      },
      otherKeys.signing.privateKey,
    );
    await appendFile(path.join(directory, 'audit-checkpoints.jsonl'), `${JSON.stringify(forged)}\n`);
    const verdict = await verify('forged-checkpoint');
    expect(verdict).toMatchObject({ ok: false });
    expect(verdict.ok === false && verdict.reason).toMatch(/does not carry a valid signature/);
  });

  it('rows of the first release (unkeyed, version 1) still verify, followed by keyed rows', async () => {
    const first = {
      tenantId: 'legacy',
      seq: 1,
      workflowId: 'gatehouse/legacy/old',
      runId: 'run-1',
      step: 'record',
      attempt: 0,
      eventType: 'request.succeeded',
      payload: { old: true },
      prevHash: GENESIS_HASH,
      createdAt: new Date().toISOString(),
    };
    const hash = hashEvent(GENESIS_HASH, canonicalAuditEvent(first));
    await database.db('audit_events').insert(row(first, hash, AUDIT_HASH_VERSIONS.unkeyedSha256));
    await database.db('audit_heads').insert({ tenant_id: 'legacy', seq: 1, hash });
    await appendAuditEvents(database.db, keys.chainKey, events('legacy', 2));
    const stored = await listAuditEvents(database.db, { tenantId: 'legacy' });
    expect(stored.map((event) => event.hashVersion)).toEqual([1, 2, 2]);
    expect(await verify('legacy')).toMatchObject({ ok: true, checked: 3, headSeq: 3 });
  });
});
