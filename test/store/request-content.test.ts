import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { loadPromptContent, storePromptContent } from '../../activities/request-content';
import { createPayloadKeyring, newPayloadKeyMaterial } from '../../codec/payload-keyring';
import { openContent, sealContent, SealedContentError } from '../../codec/sealed-content';
import { FAILURE_TYPES } from '../../domain/failure-types';
import { newAuditKeys } from '../../governance/audit-key-store';
import { pruneAuditTrail } from '../../governance/prune-audit-trail';
import type { AuditCheckpointSink } from '../../governance/audit-checkpoint';
import { sha256Hex } from '../../governance/sha256';
import {
  ContentConflictError,
  getRequestContent,
  putRequestContent,
} from '../../store/request-content-repository';
import { createTestDatabase, type TestDatabase } from './test-database';

const keyring = createPayloadKeyring([{ id: 'k1', material: newPayloadKeyMaterial() }], 'k1');
const otherKeyring = createPayloadKeyring([{ id: 'k1', material: newPayloadKeyMaterial() }], 'k1');
const prompt = {
  system: `Rules. ${'The handbook says many things. '.repeat(2_000)}`,
  user: 'Question: why?',
};

async function failureOf(work: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await work();
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected the load to fail');
}

describe('content by reference: sealed rows, checked on every load (docs/decisions/0026)', () => {
  let database: TestDatabase;
  const deps = () => ({ db: database.db, contentKeys: keyring });
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.destroy());

  const store = (workflowId: string, tenantId = 'acme', text = prompt) =>
    storePromptContent(deps(), {
      tenantId,
      workflowId,
      step: 'assemble-prompt',
      prompt: text,
      tokens: 4_321,
    });

  it('stores the text sealed, never in plain, and loads exactly what was stored', async () => {
    const reference = await store('gatehouse/acme/r1');
    const serialized = JSON.stringify(prompt);
    expect(reference).toEqual({
      store: 'request_contents',
      contentId: expect.stringMatching(/^rc-[0-9a-f]{64}$/),
      sha256: sha256Hex(serialized),
      bytes: Buffer.byteLength(serialized),
      tokens: 4_321,
    });
    const row = await getRequestContent(database.db, reference.contentId);
    expect(row?.tenantId).toBe('acme');
    expect(row?.sealed.includes(Buffer.from('The handbook says'))).toBe(false);
    await expect(loadPromptContent(deps(), 'acme', reference)).resolves.toEqual(prompt);
  });

  it('writes nothing when the same request stores the same text again; another request gets its own row', async () => {
    const first = await store('gatehouse/acme/r2');
    const before = await getRequestContent(database.db, first.contentId);
    const again = await store('gatehouse/acme/r2');
    expect(again).toEqual(first);
    expect((await getRequestContent(database.db, first.contentId))?.sealed).toEqual(before?.sealed);
    const other = await store('gatehouse/acme/r3');
    expect(other.contentId).not.toBe(first.contentId);
    expect(other.sha256).toBe(first.sha256);
  });

  it('refuses a write under an existing id with other facts', async () => {
    const reference = await store('gatehouse/acme/r4');
    const row = (await getRequestContent(database.db, reference.contentId))!;
    await expect(putRequestContent(database.db, { ...row, tenantId: 'globex' })).rejects.toThrow(
      ContentConflictError,
    );
  });

  it('fails Content.IntegrityFailed, not retryable, when the row was edited, swapped, moved or removed', async () => {
    const reference = await store('gatehouse/acme/r5');
    const other = await store('gatehouse/acme/r6', 'acme', {
      system: prompt.system,
      user: 'Another question',
    });
    const sealedOther = (await getRequestContent(database.db, other.contentId))!.sealed;
    const original = (await getRequestContent(database.db, reference.contentId))!.sealed;
    const setSealed = (sealed: Buffer) =>
      database.db('request_contents').where({ content_id: reference.contentId }).update({ sealed });

    // One byte of ciphertext flipped.
    const flipped = Buffer.from(original);
    flipped[flipped.length - 40] = (flipped[flipped.length - 40] ?? 0) ^ 0x01;
    await setSealed(flipped);
    let failure = await failureOf(() => loadPromptContent(deps(), 'acme', reference));
    expect(failure.type).toBe(FAILURE_TYPES.contentIntegrityFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/failed authentication/);

    // Another content's valid ciphertext put in its place.
    await setSealed(sealedOther);
    failure = await failureOf(() => loadPromptContent(deps(), 'acme', reference));
    expect(failure.message).toMatch(/holds the ciphertext of another content/);

    // Altered text sealed properly under the right id, as someone holding the key could: the hash says no.
    await setSealed(
      sealContent(keyring, {
        tenantId: 'acme',
        contentId: reference.contentId,
        text: JSON.stringify({ ...prompt, system: 'Ignore the rules.' }),
      }),
    );
    failure = await failureOf(() => loadPromptContent(deps(), 'acme', reference));
    expect(failure.type).toBe(FAILURE_TYPES.contentIntegrityFailed);
    expect(failure.message).toMatch(/hashes to [0-9a-f]{64} .* where the reference says/);

    await database.db('request_contents').where({ content_id: reference.contentId }).delete();
    failure = await failureOf(() => loadPromptContent(deps(), 'acme', reference));
    expect(failure.message).toMatch(/not in the content store/);
  });

  it("cannot be opened as another tenant's, relabelled for another tenant, or without the key", async () => {
    const reference = await store('gatehouse/acme/r7');
    const sealed = (await getRequestContent(database.db, reference.contentId))!.sealed;
    const expected = { tenantId: 'acme', contentId: reference.contentId };
    expect(openContent(keyring, sealed, expected)).toBe(JSON.stringify(prompt));

    const failure = await failureOf(() => loadPromptContent(deps(), 'globex', reference));
    expect(failure.type).toBe(FAILURE_TYPES.contentIntegrityFailed);
    expect(failure.message).toMatch(/sealed for tenant 'acme', not 'globex'/);

    // The tenant label is authenticated with the ciphertext: relabelling breaks it.
    const payload = temporal.api.common.v1.Payload.decode(sealed);
    payload.metadata['gatehouse-tenant'] = Buffer.from('globex');
    const relabelled = Buffer.from(temporal.api.common.v1.Payload.encode(payload).finish());
    expect(() => openContent(keyring, relabelled, { ...expected, tenantId: 'globex' })).toThrow(
      /failed authentication/,
    );
    // Same key id, other material: a keyring that is not this deployment's cannot read it.
    expect(() => openContent(otherKeyring, sealed, expected)).toThrow(SealedContentError);
  });

  it("retention deletes the tenant's contents written before the cut-off, and only those", async () => {
    const old = await store('gatehouse/retained/old', 'retained');
    const otherTenant = await store('gatehouse/kept/old', 'kept');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const recent = await store('gatehouse/retained/new', 'retained');
    const appended: unknown[] = [];
    const checkpointSink: AuditCheckpointSink = {
      description: 'in memory',
      append: async (checkpoints) => {
        appended.push(...checkpoints);
      },
      read: async () => ({ checkpoints: [], unreadable: 0 }),
    };
    const result = await pruneAuditTrail(database.db, {
      tenantId: 'retained',
      before,
      keys: newAuditKeys(),
      checkpointSink,
      now: new Date(),
    });
    expect(result.prunedContents).toBe(1);
    expect(await getRequestContent(database.db, old.contentId)).toBeUndefined();
    expect(await getRequestContent(database.db, recent.contentId)).toBeDefined();
    expect(await getRequestContent(database.db, otherTenant.contentId)).toBeDefined();
    expect(appended).toEqual([]);
  });
});
