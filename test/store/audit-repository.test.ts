import { canonicalAuditEvent, GENESIS_HASH, keyedHashEvent } from '../../governance/audit-chain';
import { newAuditKeys } from '../../governance/audit-key-store';
import {
  appendAuditEvents,
  listAuditEvents,
  type NewAuditEvent,
  verifyAuditChain,
} from '../../store/audit-repository';
import { createTestDatabase, mapWithConcurrency, rejectionMessage, type TestDatabase } from './test-database';

const keys = newAuditKeys();
const chainKey = keys.chainKey;
const verifyOptions = { chainKeyById: keys.chainKeyById };

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
    expect(
      await appendAuditEvents(database.db, chainKey, [...events('acme', 3), ...events('globex', 2)]),
    ).toBe(5);
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
    expect(first).toMatchObject({ hashVersion: 2, hashKeyId: chainKey.id });
    expect(first.hash).toBe(keyedHashEvent(chainKey, GENESIS_HASH, canonicalAuditEvent(first)));
    expect(listed[1]!.prevHash).toBe(first.hash);
    expect((await listAuditEvents(database.db, { tenantId: 'globex' })).map((event) => event.seq)).toEqual([
      1, 2,
    ]);
    expect(await verifyAuditChain(database.db, 'acme', verifyOptions)).toEqual({
      ok: true,
      checked: 3,
      headSeq: 3,
      anchorsChecked: 0,
    });
    expect(await verifyAuditChain(database.db, 'nobody', verifyOptions)).toEqual({
      ok: true,
      checked: 0,
      headSeq: 0,
      anchorsChecked: 0,
    });
  });

  it('skips repeats of (workflow, run, step, attempt) and refuses a different event under the same key', async () => {
    const batch = events('acme', 3);
    expect(await appendAuditEvents(database.db, chainKey, batch)).toBe(0);
    const retry = { ...batch[2]!, attempt: 2 };
    expect(await appendAuditEvents(database.db, chainKey, [retry, retry])).toBe(1);
    await expect(
      appendAuditEvents(database.db, chainKey, [{ ...retry, payload: { changed: true } }]),
    ).rejects.toThrow(/already recorded as seq 4 with a different payload/);
    await expect(
      appendAuditEvents(database.db, chainKey, [
        { ...retry, attempt: 3 },
        { ...retry, attempt: 3, eventType: 'step.failed' },
      ]),
    ).rejects.toThrow(/two different events in one append/);
    // Describing another run's work: the first description stands, a later one is not compared.
    expect(
      await appendAuditEvents(database.db, chainKey, [
        { ...retry, payload: { changed: true }, ifAbsent: true },
      ]),
    ).toBe(0);
    expect(await verifyAuditChain(database.db, 'acme', verifyOptions)).toEqual({
      ok: true,
      checked: 4,
      headSeq: 4,
      anchorsChecked: 0,
    });
  });

  it('filters by workflow', async () => {
    await appendAuditEvents(database.db, chainKey, events('acme', 2, 'wf-other'));
    const other = await listAuditEvents(database.db, { tenantId: 'acme', workflowId: 'wf-other' });
    expect(other.map((event) => [event.seq, event.step])).toEqual([
      [5, 'step-1'],
      [6, 'step-2'],
    ]);
  });

  it('keeps a gap-free chain under concurrent appends, with concurrent duplicates inserted once', async () => {
    const batches = Array.from({ length: 30 }, (_, index) => events('busy', 2, `wf-${index % 15}`));
    const counts = await mapWithConcurrency(batches, 10, (batch) =>
      appendAuditEvents(database.db, chainKey, batch),
    );
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);
    expect(await verifyAuditChain(database.db, 'busy', verifyOptions)).toEqual({
      ok: true,
      checked: 30,
      headSeq: 30,
      anchorsChecked: 0,
    });
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
    expect(await verifyAuditChain(database.db, 'acme', verifyOptions)).toMatchObject({ ok: true });
  });

  it('rejects payloads that are not JSON', async () => {
    await expect(
      appendAuditEvents(database.db, chainKey, [
        { ...events('acme', 1)[0]!, step: 'bad', payload: { value: Number.NaN } },
      ]),
    ).rejects.toThrow(/non-finite/);
  });
});
