import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { PolicyDeniedError, RequestNotFoundError } from '../../client/errors';
import type { Caller } from '../../client/gatehouse-client';
import { requestWorkflowId, type LlmRequest } from '../../domain/request-contract';
import { hashApiKey } from '../../governance/caller-proof';
import { readRequestInput } from '../../history/read-run-history';
import { setBudget } from '../../store/budget-repository';
import { upsertDocument } from '../../store/document-repository';
import { putPolicy } from '../../store/policy-repository';
import { upsertPrincipal } from '../../store/principal-repository';
import { createPromptVersion, setPromptLabel } from '../../store/prompt-repository';
import { DEMO_POLICY_DOCUMENT, DEMO_PROMPT_TEMPLATES } from '../../store/seed-demo';
import { upsertTenant } from '../../store/tenant-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const CANARY = `ACMESECRET${randomBytes(5).toString('hex')}`;
const ACME_KEY = `acme-analyst-${randomBytes(12).toString('hex')}`;
const ACME_APPROVER_KEY = `acme-approver-${randomBytes(12).toString('hex')}`;

/** Builds acme beside the demo tenant: its own principals, policy (approval for restricted), prompts, budget and a secret. */
async function seedAcme(harness: GatehouseHarness): Promise<void> {
  const { db } = harness;
  await upsertTenant(db, { id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
  const base = {
    tenantId: 'acme',
    capabilities: ['qa'],
    groups: ['everyone'],
    clearance: 'restricted' as const,
    status: 'active' as const,
  };
  await upsertPrincipal(db, {
    ...base,
    id: 'acme-analyst',
    name: 'Acme analyst',
    role: 'requester',
    apiKeyHash: hashApiKey(ACME_KEY),
  });
  await upsertPrincipal(db, {
    ...base,
    id: 'acme-approver',
    name: 'Acme approver',
    role: 'approver',
    apiKeyHash: hashApiKey(ACME_APPROVER_KEY),
  });
  await putPolicy(db, 'acme', {
    ...DEMO_POLICY_DOCUMENT,
    allowedDataClasses: ['public', 'internal', 'confidential', 'restricted'],
    approval: { requiredForDataClasses: ['restricted'], timeoutSeconds: 3600 },
  });
  for (const template of DEMO_PROMPT_TEMPLATES) {
    const version = await createPromptVersion(db, { tenantId: 'acme', ...template });
    await setPromptLabel(db, { tenantId: 'acme', name: template.name, label: 'production', version });
  }
  await setBudget(db, { tenantId: 'acme', limitMicroUsd: 5_000_000 });
  await upsertDocument(db, {
    tenantId: 'acme',
    externalId: 'merger-plan',
    title: 'Merger plan',
    classification: 'internal',
    aclGroups: ['everyone'],
    text: `The refund policy of the merged company is secret. The code word is ${CANARY}.`,
  });
}

describe('every path to a request checks who asks', () => {
  let harness: GatehouseHarness;
  let finished: { workflowId: string; requestId: string; input: LlmRequest };
  let waiting: { workflowId: string; requestId: string };
  const acme: Caller = { tenantId: 'acme', apiKey: ACME_KEY };

  beforeAll(async () => {
    harness = await startHarness();
    await seedAcme(harness);
    const requestId = `acme-done-${randomBytes(3).toString('hex')}`;
    const result = await harness.gatehouse.execute({
      ...acme,
      requestId,
      taskType: 'qa',
      question: `What is the refund policy? ${CANARY}`,
    });
    expect(result.output).toContain(CANARY);
    finished = {
      workflowId: result.workflowId,
      requestId,
      input: (await readRequestInput(harness.client, result.workflowId))!,
    };
    const waitingId = `acme-wait-${randomBytes(3).toString('hex')}`;
    const submitted = await harness.gatehouse.submit({
      ...acme,
      requestId: waitingId,
      taskType: 'qa',
      dataClass: 'restricted',
      question: `Restricted: ${CANARY}?`,
    });
    waiting = { workflowId: submitted.workflowId, requestId: waitingId };
  });
  afterAll(async () => {
    await harness?.close();
  });

  const callers: Array<[string, Caller]> = [
    ['a wrong key', { tenantId: 'acme', apiKey: 'bogus-bogus-bogus-bogus' }],
    ["another tenant's valid key, claiming acme", { tenantId: 'acme', apiKey: '' }],
    ["another tenant's valid key, as itself", { tenantId: 'demo', apiKey: '' }],
  ];
  const resolve = ([name, caller]: [string, Caller]): [string, Caller] => [
    name,
    caller.apiKey ? caller : { ...caller, apiKey: harness.apiKey },
  ];

  /** Nothing of acme's content may appear in what a refused caller gets back. */
  function expectNothingLeaked(error: unknown): void {
    const text = JSON.stringify({
      message: (error as Error).message,
      cause: String((error as { cause?: unknown }).cause ?? ''),
    });
    expect(text).not.toContain(CANARY);
    expect(text).not.toMatch(/merged company/);
  }

  type Path = (caller: Caller) => Promise<unknown>;
  const paths: Array<[string, () => { run: Path; expected: (error: unknown) => void }]> = [
    [
      'join',
      () => ({
        run: (caller) =>
          harness.gatehouse.submit({
            ...caller,
            requestId: finished.requestId,
            taskType: 'qa',
            question: `What is the refund policy? ${CANARY}`,
          }),
        expected: (error) => expect(error).toBeInstanceOf(PolicyDeniedError),
      }),
    ],
    [
      'result',
      () => ({
        run: (caller) => harness.gatehouse.result(finished.workflowId, caller),
        expected: (error) => expect(error).toBeInstanceOf(RequestNotFoundError),
      }),
    ],
    [
      'progress',
      () => ({
        run: (caller) => harness.gatehouse.progress(waiting.workflowId, caller),
        expected: (error) => expect(error).toBeInstanceOf(RequestNotFoundError),
      }),
    ],
    [
      'stream',
      () => ({
        run: async (caller) => {
          for await (const piece of harness.gatehouse.stream(waiting.workflowId, caller)) void piece;
        },
        expected: (error) => expect(error).toBeInstanceOf(RequestNotFoundError),
      }),
    ],
    [
      'cancel',
      () => ({
        run: (caller) => harness.gatehouse.cancel(waiting.workflowId, caller, 'mischief'),
        expected: (error) => expect(error).toBeInstanceOf(RequestNotFoundError),
      }),
    ],
    [
      'approve',
      () => ({
        run: (caller) =>
          harness.gatehouse.approve(waiting.workflowId, {
            approverId: 'acme-approver',
            apiKey: caller.apiKey,
          }),
        expected: (error) =>
          expect(String((error as { cause?: Error }).cause?.message ?? (error as Error).message)).toMatch(
            /does not belong to principal 'acme-approver'/,
          ),
      }),
    ],
  ];

  it('denies every cell of callers × paths, and nothing of the other tenant leaks', async () => {
    const cells: string[] = [];
    for (const entry of callers) {
      const [name, caller] = resolve(entry);
      for (const [pathName, make] of paths) {
        // Submitting as itself can only name its own tenant's request ids: that is a new request, not a join.
        if (pathName === 'join' && caller.tenantId !== 'acme') continue;
        const { run, expected } = make();
        const error = await run(caller).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect({ cell: `${name} → ${pathName}`, refused: error !== undefined }).toEqual({
          cell: `${name} → ${pathName}`,
          refused: true,
        });
        expected(error);
        expectNothingLeaked(error);
        cells.push(`${name} → ${pathName}: ${(error as Error).name}`);
      }
    }
    process.stdout.write(`cross-tenant matrix\n  ${cells.join('\n  ')}\n`);
    // The waiting request is untouched: still waiting for its own approver, who can still approve it.
    const description = await harness.client.workflow.getHandle(waiting.workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    await harness.gatehouse.approve(waiting.workflowId, {
      approverId: 'acme-approver',
      apiKey: ACME_APPROVER_KEY,
    });
    expect((await harness.gatehouse.result(waiting.workflowId, acme)).approval?.approverId).toBe(
      'acme-approver',
    );
  });

  it('refuses a caller proof copied from history into a new start, under another id or the same one', async () => {
    const forgedId = `forged-${randomBytes(3).toString('hex')}`;
    const copied = { ...finished.input, requestId: forgedId };
    const elsewhere = await harness.client.workflow.start('llmRequestWorkflow', {
      taskQueue: harness.taskQueue,
      workflowId: requestWorkflowId('acme', forgedId),
      args: [copied],
    });
    const refused = await elsewhere.result().catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(WorkflowFailedError);
    expect((refused as WorkflowFailedError).cause).toMatchObject({ type: 'Policy.Denied' });
    // The copy names another request: its content no longer matches the fingerprint the proof signed.
    expect(String((refused as WorkflowFailedError).cause?.message)).toMatch(
      /fingerprint does not match|does not match this request and API key/,
    );

    const again = await harness.client.workflow.start('llmRequestWorkflow', {
      taskQueue: harness.taskQueue,
      workflowId: finished.workflowId,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [finished.input],
    });
    const replayed = await again.result().catch((caught: unknown) => caught);
    expect((replayed as WorkflowFailedError).cause).toMatchObject({ type: 'Policy.Denied' });
    expect(String((replayed as WorkflowFailedError).cause?.message)).toMatch(/already succeeded/);
    expectNothingLeaked(replayed);
  });
});
