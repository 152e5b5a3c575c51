/**
 * The canary split and the variables check in the running request path: each request's prompt version
 * is the one the pure split picks for its request id, recorded in the result and the audit as before; a
 * question that breaks the version's variables description ends as `Prompt.VariablesInvalid`.
 */
import { GatehouseRequestError } from '../../client/errors';
import { takesCanary } from '../../domain/prompt-canary';
import { parsePromptFile, promotePrompt, publishPrompt } from '../../governance/prompt-registry';
import { listAuditEvents } from '../../store/audit-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

function promptFile(text: string) {
  const parsed = parsePromptFile(text, 'prompt.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.prompt;
}

describe('prompt canaries and variables in the request path', () => {
  let harness: GatehouseHarness;
  let canaryVersion: number;
  beforeAll(async () => {
    harness = await startHarness();
    const writer = { db: harness.db, chainKey: harness.audit.keys.chainKey };
    const published = await publishPrompt(writer, {
      tenantId: 'demo',
      name: 'qa',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
      prompt: promptFile(
        'system: Answer from the quoted context only; cite document ids in square brackets.\nuser: "Context:\\n{{context}}\\n\\nQuestion: {{question}}"\n',
      ),
    });
    canaryVersion = published.version;
    await promotePrompt(writer, {
      tenantId: 'demo',
      name: 'qa',
      version: canaryVersion,
      label: 'canary',
      percent: 50,
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('each request gets the version its request id picks, recorded in result and audit', async () => {
    const requestIds = ['canary-a', 'canary-b', 'canary-c', 'canary-d', 'canary-e', 'canary-f'];
    const expected = requestIds.map((id) => (takesCanary(50, 'demo', 'qa', id) ? canaryVersion : 1));
    // Six ids and a fair split: both versions must be exercised for the test to mean anything.
    expect(new Set(expected).size).toBe(2);
    for (const [index, requestId] of requestIds.entries()) {
      const submitted = await harness.gatehouse.submit(harness.input({ requestId }));
      const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
      expect(result.promptVersion).toBe(`qa@${expected[index]}`);
      const events = await listAuditEvents(harness.db, {
        tenantId: 'demo',
        workflowId: submitted.workflowId,
      });
      const closing = events.find((event) => event.eventType === 'request.succeeded');
      expect((closing?.payload as { promptVersion: string }).promptVersion).toBe(`qa@${expected[index]}`);
    }
  });

  it('a question its version rules out ends as Prompt.VariablesInvalid, naming the variable', async () => {
    const writer = { db: harness.db, chainKey: harness.audit.keys.chainKey };
    const strict = await publishPrompt(writer, {
      tenantId: 'demo',
      name: 'qa',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
      prompt: promptFile(
        'system: Answer briefly.\nuser: "{{context}} {{question}}"\nvariables:\n  question: { maxLength: 10 }\n  context: {}\n',
      ),
    });
    await promotePrompt(writer, {
      tenantId: 'demo',
      name: 'qa',
      version: strict.version,
      label: 'staging',
      actor: { principalId: 'alice', keyId: 'key-of-alice' },
    });
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: 'variables-too-long', prompt: { name: 'qa', label: 'staging' } }),
    );
    const error = await harness.gatehouse
      .result(submitted.workflowId, harness.caller)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatehouseRequestError);
    expect((error as GatehouseRequestError).failureType).toBe('Prompt.VariablesInvalid');
    expect((error as Error).message).toContain(
      `prompt 'qa' version ${strict.version}: variable 'question' must be at most 10 characters`,
    );
  });
});
