import {
  createPromptVersion,
  listPrompts,
  resolvePrompt,
  setPromptLabel,
} from '../../store/prompt-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { createTestDatabase, rejectionMessage, type TestDatabase } from './test-database';

describe('prompt repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await upsertTenant(database.db, { id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
    await upsertTenant(database.db, { id: 'globex', name: 'Globex', status: 'active', tier: 'team' });
  });
  afterAll(async () => {
    await database.destroy();
  });

  const qa = {
    tenantId: 'acme',
    name: 'qa',
    systemTemplate: 'System v1',
    userTemplate: '{{context}}\n{{question}}',
  };

  it('creates immutable versions and returns the latest when templates are unchanged', async () => {
    expect(await createPromptVersion(database.db, qa)).toBe(1);
    expect(await createPromptVersion(database.db, qa)).toBe(1);
    expect(await createPromptVersion(database.db, { ...qa, systemTemplate: 'System v2' })).toBe(2);
    // Going back to v1's text is a new version: history is never rewritten.
    expect(await createPromptVersion(database.db, qa)).toBe(3);
    expect(
      await rejectionMessage(
        database
          .db('prompt_templates')
          .where({ tenant_id: 'acme', name: 'qa', version: 1 })
          .update({ system_template: 'x' }),
      ),
    ).toMatch(/prompt_templates is append-only: UPDATE is not allowed/);
  });

  it('resolves by label (production by default), by explicit version, and not across tenants', async () => {
    expect(await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa' })).toBeUndefined();
    await setPromptLabel(database.db, { tenantId: 'acme', name: 'qa', label: 'production', version: 1 });
    await setPromptLabel(database.db, { tenantId: 'acme', name: 'qa', label: 'staging', version: 2 });
    expect(await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa' })).toEqual({
      name: 'qa',
      version: 1,
      systemTemplate: 'System v1',
      userTemplate: '{{context}}\n{{question}}',
      label: 'production',
    });
    expect(
      await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', label: 'staging' }),
    ).toMatchObject({
      version: 2,
      systemTemplate: 'System v2',
      label: 'staging',
    });
    const pinned = await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', version: 2 });
    expect(pinned).toMatchObject({ version: 2 });
    expect(pinned).not.toHaveProperty('label');
    expect(await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', version: 99 })).toBeUndefined();
    expect(
      await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', label: 'canary' }),
    ).toBeUndefined();
    expect(await resolvePrompt(database.db, { tenantId: 'globex', name: 'qa' })).toBeUndefined();

    await setPromptLabel(database.db, { tenantId: 'acme', name: 'qa', label: 'production', version: 2 });
    expect((await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa' }))?.version).toBe(2);
  });

  it('rejects a label pointing at a version that does not exist', async () => {
    expect(
      await rejectionMessage(
        setPromptLabel(database.db, { tenantId: 'acme', name: 'qa', label: 'production', version: 42 }),
      ),
    ).toMatch(/foreign key/i);
  });

  it('lists every version with the labels pointing at it', async () => {
    const listed = await listPrompts(database.db, 'acme');
    expect(listed.map((entry) => [entry.name, entry.version, entry.labels])).toEqual([
      ['qa', 1, []],
      ['qa', 2, ['production', 'staging']],
      ['qa', 3, []],
    ]);
    expect(await listPrompts(database.db, 'globex')).toEqual([]);
  });
});
