/**
 * The prompt registry on a real store (SQLite, or PostgreSQL with DATABASE_URL): immutable versions with
 * content hashes, labels, a canary share resolved per request id exactly as the pure split decides, a
 * variables description checked before rendering, and every change audited with its author.
 */
import { takesCanary } from '../../domain/prompt-canary';
import { assemblePrompt } from '../../governance/assemble-prompt';
import { newAuditKeys } from '../../governance/audit-key-store';
import { governanceWorkflowId } from '../../governance/governance-attestation';
import {
  diffPrompts,
  findPromptVersion,
  listPromptVersions,
  parsePromptFile,
  promotePrompt,
  publishPrompt,
} from '../../governance/prompt-registry';
import { checkPromptVariables, PromptVariablesError } from '../../governance/prompt-variables';
import { verifyAuditTrail } from '../../governance/verify-audit-trail';
import { createFileAuditCheckpointSink } from '../../governance/file-audit-checkpoint-sink';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { listAuditEvents } from '../../store/audit-repository';
import { resolvePrompt, resolvePromptAsStored } from '../../store/prompt-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { createTestDatabase, type TestDatabase } from './test-database';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const keys = newAuditKeys();

const PROMPT_V1 = `system: You answer questions.
user: |
  {{context}}
  Question: {{question}}
`;
const PROMPT_V2 = `system: You answer questions briefly, citing document ids.
user: |
  {{context}}
  Question: {{question}}
variables:
  question: { type: string, maxLength: 200 }
  context: { type: string }
`;

function parsed(text: string) {
  const result = parsePromptFile(text, 'prompt.yaml');
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.prompt;
}

describe('prompt files and variables', () => {
  it('a placeholder named like an Object method is missing, not filled from the prototype', () => {
    const template = { systemTemplate: '{{toString}}', userTemplate: '{{question}}', name: 'p', version: 1 };
    expect(() => checkPromptVariables(template, undefined, { question: 'q', context: 'c' })).toThrow(
      "prompt 'p' version 1 uses variable 'toString', which is missing (supplied: question, context)",
    );
  });

  it('refuses a template whose placeholders requests cannot fill, or that its variables do not declare', () => {
    const result = parsePromptFile(
      'system: s\nuser: "{{question}} for {{customer}}"\nvariables:\n  context: { type: string }\n',
      'p.yaml',
    );
    expect(result.ok ? [] : result.problems).toEqual([
      'p.yaml: the template uses {{question}} but variables do not declare it (declared: context)',
      'p.yaml: the template uses {{customer}}, which requests do not supply (they supply question, context)',
    ]);
    const bad = parsePromptFile('system: s\nuser: u\nvariables:\n  question: { type: text }\n', 'p.yaml');
    expect(bad.ok ? [] : bad.problems[0]).toMatch(/^p\.yaml: variables\.question\.type: Invalid enum value/);
    const syntax = parsePromptFile('system: [s\nuser: u\n', 'p.yaml');
    expect(syntax.ok ? [] : syntax.problems[0]).toMatch(/^p\.yaml:\d+:\d+: not valid YAML or JSON/);
  });

  it('names the missing or invalid variable before rendering', () => {
    const template = { name: 'qa', version: 4, systemTemplate: 'S', userTemplate: '{{question}} {{locale}}' };
    expect(() => checkPromptVariables(template, undefined, { question: 'q', context: 'c' })).toThrow(
      "prompt 'qa' version 4 uses variable 'locale', which is missing (supplied: question, context)",
    );
    const declared = { question: { type: 'string' as const, required: true, maxLength: 5 } };
    const plain = { ...template, userTemplate: '{{question}}' };
    expect(() => checkPromptVariables(plain, declared, { question: 'far too long', context: '' })).toThrow(
      "prompt 'qa' version 4: variable 'question' must be at most 5 characters",
    );
    expect(() => checkPromptVariables(plain, declared, { context: '' })).toThrow(PromptVariablesError);
    expect(() => checkPromptVariables(plain, declared, { question: 'short', context: '' })).not.toThrow();
  });

  it('assembly checks the stored description of the version it renders', () => {
    const template = {
      name: 'qa',
      version: 2,
      systemTemplate: 'S',
      userTemplate: '{{question}}',
      variables: { question: { maxLength: 3 } },
    };
    expect(() =>
      assemblePrompt({
        template,
        question: 'a longer question',
        chunks: [],
        contextTokenBudget: 100,
        maxPromptTokens: 1000,
        tokenCounter: createLocalTokenCounter(),
      }),
    ).toThrow("prompt 'qa' version 2: variable 'question' must be at most 3 characters");
  });
});

describe('the prompt registry', () => {
  let database: TestDatabase;
  let directory: string;
  const writer = () => ({ db: database.db, chainKey: keys.chainKey });

  beforeAll(async () => {
    database = await createTestDatabase();
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prompts-'));
    await upsertTenant(database.db, { id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
  });
  afterAll(async () => {
    await database.destroy();
    rmSync(directory, { recursive: true, force: true });
  });

  it('publishes immutable versions with content hashes; the same content is not a new version', async () => {
    const first = await publishPrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
      prompt: parsed(PROMPT_V1),
    });
    expect(first).toMatchObject({
      version: 1,
      created: true,
      contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(first.changes).toEqual([{ item: 'prompt:qa@1', contentHash: first.contentHash }]);
    const again = await publishPrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      actor: { principalId: 'bob', keyId: 'key-of-bob' },
      prompt: parsed(PROMPT_V1),
    });
    expect(again).toMatchObject({ version: 1, created: false, changes: [] });
    const second = await publishPrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
      prompt: parsed(PROMPT_V2),
    });
    expect(second).toMatchObject({ version: 2, created: true });
    expect(second.contentHash).not.toBe(first.contentHash);
    const listed = await listPromptVersions(database.db, 'acme', 'qa');
    expect(listed.map((entry) => [entry.version, entry.contentHash])).toEqual([
      [1, first.contentHash],
      [2, second.contentHash],
    ]);
    expect(listed[1]!.variables).toEqual({
      question: { type: 'string', required: true, maxLength: 200 },
      context: { type: 'string', required: true },
    });
  });

  it('labels: production and staging point at versions; the canary needs a share and takes it by request id', async () => {
    await promotePrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      version: 1,
      label: 'production',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
    });
    await promotePrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      version: 2,
      label: 'staging',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
    });
    await expect(
      promotePrompt(writer(), {
        tenantId: 'acme',
        name: 'qa',
        version: 2,
        label: 'canary',
        actor: { principalId: 'alice', keyId: 'key-of-alice' },
      }),
    ).rejects.toThrow(/canary label needs --percent/);
    await expect(
      promotePrompt(writer(), {
        tenantId: 'acme',
        name: 'qa',
        version: 2,
        label: 'staging',
        percent: 5,
        actor: { principalId: 'a', keyId: 'key-of-a' },
      }),
    ).rejects.toThrow("--percent applies to the canary label only, not 'staging'");
    await expect(
      promotePrompt(writer(), {
        tenantId: 'acme',
        name: 'qa',
        version: 9,
        label: 'production',
        actor: { principalId: 'a', keyId: 'key-of-a' },
      }),
    ).rejects.toThrow("prompt 'qa' of tenant 'acme' has no version 9");
    const changes = await promotePrompt(writer(), {
      tenantId: 'acme',
      name: 'qa',
      version: 2,
      label: 'canary',
      percent: 20,
      actor: { principalId: 'carol', keyId: 'key-of-carol' },
    });
    expect(changes.map((change) => change.item)).toEqual(['prompt-label:qa:canary']);

    const ids = Array.from({ length: 400 }, (_, index) => `order-${index}`);
    let canary = 0;
    for (const requestId of ids) {
      const resolved = await resolvePrompt(database.db, {
        tenantId: 'acme',
        name: 'qa',
        label: 'production',
        requestId,
      });
      const expected = takesCanary(20, 'acme', 'qa', requestId);
      expect(resolved).toMatchObject(
        expected ? { version: 2, label: 'canary' } : { version: 1, label: 'production' },
      );
      if (expected) canary += 1;
    }
    expect(Math.abs((100 * canary) / ids.length - 20)).toBeLessThanOrEqual(5);
    // Explicit labels and versions are never split; neither is a lookup without a request id.
    expect(
      (await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', label: 'staging', requestId: 'x' }))
        ?.version,
    ).toBe(2);
    expect(
      (await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa', version: 1, requestId: 'x' }))
        ?.version,
    ).toBe(1);
    expect((await resolvePrompt(database.db, { tenantId: 'acme', name: 'qa' }))?.version).toBe(1);
    const listed = await listPromptVersions(database.db, 'acme', 'qa');
    expect(listed[1]).toMatchObject({ labels: ['canary', 'staging'], canaryPercent: 20 });

    // What assemble-prompt resolves with (and hashes): the same prompt, from the rows it returns.
    const lookups: Array<[Record<string, unknown>, { version: number; label?: string } | undefined]> = [
      ...ids
        .slice(0, 40)
        .map((requestId): [Record<string, unknown>, { version: number; label: string }] => [
          { label: 'production', requestId },
          takesCanary(20, 'acme', 'qa', requestId)
            ? { version: 2, label: 'canary' }
            : { version: 1, label: 'production' },
        ]),
      [{ label: 'production' }, { version: 1, label: 'production' }],
      [
        { label: 'canary', requestId: 'x' },
        { version: 2, label: 'canary' },
      ],
      [
        { label: 'staging', requestId: 'x' },
        { version: 2, label: 'staging' },
      ],
      [{ version: 2, requestId: 'x' }, { version: 2 }],
      [{ label: 'missing' }, undefined],
      [{ version: 99 }, undefined],
      [{}, { version: 1, label: 'production' }],
    ];
    for (const [lookup, expected] of lookups) {
      const input = { tenantId: 'acme', name: 'qa', ...lookup };
      const stored = await resolvePromptAsStored(database.db, input);
      expect(stored?.prompt).toEqual(await resolvePrompt(database.db, input));
      if (expected === undefined) expect(stored).toBeUndefined();
      else expect({ version: stored?.prompt.version, label: stored?.prompt.label }).toEqual(expected);
      if (stored !== undefined) expect(stored.template['version']).toBe(stored.prompt.version);
    }
    const production = await resolvePromptAsStored(database.db, { tenantId: 'acme', name: 'qa' });
    expect(production?.labels.map((row) => row['label']).sort()).toEqual(['canary', 'production']);
    const explicit = await resolvePromptAsStored(database.db, { tenantId: 'acme', name: 'qa', version: 1 });
    expect(explicit?.labels).toEqual([]);
  });

  it('diffs versions by number or label', async () => {
    const from = await findPromptVersion(database.db, {
      tenantId: 'acme',
      name: 'qa',
      reference: 'production',
    });
    const to = await findPromptVersion(database.db, { tenantId: 'acme', name: 'qa', reference: '2' });
    const diff = diffPrompts(from, to);
    expect(diff).toContain('- system: You answer questions.\n');
    expect(diff).toContain('+ system: You answer questions briefly, citing document ids.\n');
    expect(diff).toContain('+ variables:\n');
    expect(diffPrompts(from, from)).toBe('');
  });

  it('every change is audited with its author; audit verify passes, and names a canary share moved by SQL', async () => {
    const events = await listAuditEvents(database.db, {
      tenantId: 'acme',
      workflowId: governanceWorkflowId('acme'),
    });
    expect(events.map((event) => (event.payload as { author: string }).author)).toEqual([
      'alice',
      'alice',
      'alice',
      'alice',
      'carol',
    ]);
    const checkpointSink = createFileAuditCheckpointSink(path.join(directory, 'checkpoints.jsonl'));
    const verify = () => verifyAuditTrail(database.db, 'acme', { keys, checkpointSink });
    expect((await verify()).verdict.ok).toBe(true);
    await database
      .db('prompt_labels')
      .where({ tenant_id: 'acme', name: 'qa', label: 'canary' })
      .update({ canary_percent: 100 });
    const verdict = (await verify()).verdict;
    expect(!verdict.ok && verdict.reason).toMatch(/^prompt-label:qa:canary was changed outside Gatehouse/);
  });
});
