import type { Knex } from 'knex';
import { canonicalAuditEvent, GENESIS_HASH, hashEvent } from '../../governance/audit-chain';
import { canonicalJson } from '../../governance/canonical-json';
import {
  appendAuditEvents,
  listAuditEvents,
  type NewAuditEvent,
  verifyAuditChain,
} from '../../store/audit-repository';
import { createTestDatabase, mapWithConcurrency, rejectionMessage, type TestDatabase } from './test-database';

function events(tenantId: string, count: number, workflowId = `wf-${tenantId}`): NewAuditEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    tenantId,
    workflowId,
    runId: 'run-1',
    step: `step-${index + 1}`,
    attempt: 1,
    eventType: index === 0 ? 'request.received' : 'step.completed',
    payload: { index, detail: { b: 2, a: [1, 'two', null] } },
  }));
}

describe('audit repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('appends a hash chain per tenant and lists it in order with payloads parsed', async () => {
    expect(await appendAuditEvents(database.db, [...events('acme', 3), ...events('globex', 2)])).toBe(5);
    const listed = await listAuditEvents(database.db, { tenantId: 'acme' });
    expect(listed.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(listed[0]).toMatchObject({
      tenantId: 'acme',
      workflowId: 'wf-acme',
      runId: 'run-1',
      step: 'step-1',
      attempt: 1,
      eventType: 'request.received',
      payload: { index: 0, detail: { a: [1, 'two', null], b: 2 } },
      prevHash: GENESIS_HASH,
    });
    const first = listed[0]!;
    expect(first.hash).toBe(hashEvent(GENESIS_HASH, canonicalAuditEvent(first)));
    expect(listed[1]!.prevHash).toBe(first.hash);
    expect((await listAuditEvents(database.db, { tenantId: 'globex' })).map((event) => event.seq)).toEqual([
      1, 2,
    ]);
    expect(await verifyAuditChain(database.db, 'acme')).toEqual({ ok: true, checked: 3, headSeq: 3 });
    expect(await verifyAuditChain(database.db, 'nobody')).toEqual({ ok: true, checked: 0, headSeq: 0 });
  });

  it('skips repeats of (workflow, run, step, attempt) and refuses a different event under the same key', async () => {
    const batch = events('acme', 3);
    expect(await appendAuditEvents(database.db, batch)).toBe(0);
    const retry = { ...batch[2]!, attempt: 2 };
    expect(await appendAuditEvents(database.db, [retry, retry])).toBe(1);
    await expect(appendAuditEvents(database.db, [{ ...retry, payload: { changed: true } }])).rejects.toThrow(
      /already recorded as seq 4 with a different payload/,
    );
    await expect(
      appendAuditEvents(database.db, [
        { ...retry, attempt: 3 },
        { ...retry, attempt: 3, eventType: 'step.failed' },
      ]),
    ).rejects.toThrow(/two different events in one append/);
    // Describing another run's work: the first description stands, a later one is not compared.
    expect(
      await appendAuditEvents(database.db, [{ ...retry, payload: { changed: true }, ifAbsent: true }]),
    ).toBe(0);
    expect(await verifyAuditChain(database.db, 'acme')).toEqual({ ok: true, checked: 4, headSeq: 4 });
  });

  it('filters by workflow', async () => {
    await appendAuditEvents(database.db, events('acme', 2, 'wf-other'));
    const other = await listAuditEvents(database.db, { tenantId: 'acme', workflowId: 'wf-other' });
    expect(other.map((event) => [event.seq, event.step])).toEqual([
      [5, 'step-1'],
      [6, 'step-2'],
    ]);
  });

  it('keeps a gap-free chain under concurrent appends, with concurrent duplicates inserted once', async () => {
    const batches = Array.from({ length: 30 }, (_, index) => events('busy', 2, `wf-${index % 15}`));
    const counts = await mapWithConcurrency(batches, 10, (batch) => appendAuditEvents(database.db, batch));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);
    expect(await verifyAuditChain(database.db, 'busy')).toEqual({ ok: true, checked: 30, headSeq: 30 });
  });

  it('rejects UPDATE and DELETE with a clear message', async () => {
    expect(
      await rejectionMessage(
        database.db('audit_events').where({ tenant_id: 'acme', seq: 1 }).update({ event_type: 'forged' }),
      ),
    ).toMatch(/audit_events is append-only: UPDATE is not allowed/);
    expect(
      await rejectionMessage(database.db('audit_events').where({ tenant_id: 'acme', seq: 1 }).delete()),
    ).toMatch(/audit_events is append-only: DELETE is not allowed/);
    expect(await verifyAuditChain(database.db, 'acme')).toMatchObject({ ok: true });
  });

  it('rejects payloads that are not JSON', async () => {
    await expect(
      appendAuditEvents(database.db, [
        { ...events('acme', 1)[0]!, step: 'bad', payload: { value: Number.NaN } },
      ]),
    ).rejects.toThrow(/non-finite/);
  });
});

describe('audit chain verification detects tampering', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Tampering means someone bypassed the guard: drop the triggers, as a DBA with DDL rights could.
    for (const trigger of ['audit_events_reject_update', 'audit_events_reject_delete']) {
      await database.db.raw(
        database.postgres ? `DROP TRIGGER ${trigger} ON audit_events` : `DROP TRIGGER ${trigger}`,
      );
    }
  });
  afterAll(async () => {
    await database.destroy();
  });

  async function chain(tenantId: string): Promise<Knex> {
    await appendAuditEvents(database.db, events(tenantId, 5));
    expect(await verifyAuditChain(database.db, tenantId)).toEqual({ ok: true, checked: 5, headSeq: 5 });
    return database.db;
  }

  it('an edited payload', async () => {
    const db = await chain('edit');
    await db('audit_events').where({ tenant_id: 'edit', seq: 2 }).update({ payload: '{"index":99}' });
    expect(await verifyAuditChain(db, 'edit')).toMatchObject({ ok: false, checked: 1, firstBadSeq: 2 });
  });

  it('an edited row whose own hash was recomputed', async () => {
    const db = await chain('rehash');
    const [, second] = await listAuditEvents(db, { tenantId: 'rehash' });
    const forged = { ...second!, eventType: 'approval.granted' };
    await db('audit_events')
      .where({ tenant_id: 'rehash', seq: 2 })
      .update({
        event_type: forged.eventType,
        hash: hashEvent(forged.prevHash, canonicalAuditEvent(forged)),
      });
    const result = await verifyAuditChain(db, 'rehash');
    expect(result).toMatchObject({ ok: false, firstBadSeq: 3 });
    expect(result.ok === false && result.reason).toMatch(/prev_hash/);
  });

  it('a deleted row (gap)', async () => {
    const db = await chain('gap');
    await db('audit_events').where({ tenant_id: 'gap', seq: 3 }).delete();
    const result = await verifyAuditChain(db, 'gap');
    expect(result).toMatchObject({ ok: false, checked: 2, firstBadSeq: 3 });
    expect(result.ok === false && result.reason).toMatch(/missing/);
  });

  it('a deleted last row (head mismatch)', async () => {
    const db = await chain('tail');
    await db('audit_events').where({ tenant_id: 'tail', seq: 5 }).delete();
    expect(await verifyAuditChain(db, 'tail')).toMatchObject({ ok: false, checked: 4, firstBadSeq: 5 });
  });

  it('reordered rows', async () => {
    const db = await chain('swap');
    await db('audit_events').where({ tenant_id: 'swap', seq: 2 }).update({ seq: 1000 });
    await db('audit_events').where({ tenant_id: 'swap', seq: 3 }).update({ seq: 2 });
    await db('audit_events').where({ tenant_id: 'swap', seq: 1000 }).update({ seq: 3 });
    expect(await verifyAuditChain(db, 'swap')).toMatchObject({ ok: false, checked: 1, firstBadSeq: 2 });
  });

  it('a row inserted in the middle with a well-formed hash', async () => {
    const db = await chain('insert');
    for (const seq of [5, 4, 3])
      await db('audit_events')
        .where({ tenant_id: 'insert', seq })
        .update({ seq: seq + 1 });
    const [, second] = await listAuditEvents(db, { tenantId: 'insert' });
    const forged = {
      tenantId: 'insert',
      seq: 3,
      workflowId: 'wf-forged',
      runId: 'run-1',
      step: 'approve',
      attempt: 1,
      eventType: 'approval.granted',
      payload: { by: 'mallory' },
      createdAt: new Date().toISOString(),
    };
    await db('audit_events').insert({
      tenant_id: forged.tenantId,
      seq: forged.seq,
      workflow_id: forged.workflowId,
      execution_id: forged.runId,
      step: forged.step,
      attempt: forged.attempt,
      event_type: forged.eventType,
      payload: canonicalJson(forged.payload),
      prev_hash: second!.hash,
      hash: hashEvent(second!.hash, canonicalAuditEvent(forged)),
      created_at: forged.createdAt,
    });
    expect(await verifyAuditChain(db, 'insert')).toMatchObject({ ok: false, checked: 3, firstBadSeq: 4 });
  });

  it('a row appended past the head', async () => {
    const db = await chain('append');
    const events5 = await listAuditEvents(db, { tenantId: 'append' });
    const last = events5[4]!;
    const forged = { ...last, seq: 6, step: 'extra', createdAt: new Date().toISOString() };
    await db('audit_events').insert({
      tenant_id: 'append',
      seq: 6,
      workflow_id: forged.workflowId,
      execution_id: forged.runId,
      step: forged.step,
      attempt: forged.attempt,
      event_type: forged.eventType,
      payload: canonicalJson(forged.payload),
      prev_hash: last.hash,
      hash: hashEvent(last.hash, canonicalAuditEvent(forged)),
      created_at: forged.createdAt,
    });
    const result = await verifyAuditChain(db, 'append');
    expect(result).toMatchObject({ ok: false, checked: 6, firstBadSeq: 6 });
  });

  it('a head that disagrees with the last row', async () => {
    const db = await chain('head');
    await db('audit_heads')
      .where({ tenant_id: 'head' })
      .update({ hash: 'f'.repeat(64) });
    expect(await verifyAuditChain(db, 'head')).toMatchObject({ ok: false, checked: 5, firstBadSeq: 5 });
  });
});
