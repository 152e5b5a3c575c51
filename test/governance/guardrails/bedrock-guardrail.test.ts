import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { FAILURE_TYPES } from '../../../domain/failure-types';
import { startBedrockEmulator, type BedrockEmulator } from '../../../emulators/bedrock-runtime-emulator';
import {
  applyGuardrailVerdict,
  createBedrockGuardrail,
  createGuardrailClient,
  decideOnGuardrailError,
  GuardrailError,
  guardrailPolicySchema,
  guardrailsForPolicy,
  type Guardrail,
  type GuardrailCheck,
  type GuardrailFailureMode,
  type GuardrailVerdict,
} from '../../../governance/guardrails';

const CONTEXT = 'Refunds are paid within 14 days of the return. Shipping costs are not refunded.';
const QUESTION = 'How long do refunds take?';

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * How the request path uses a guardrail (the lead wires the same steps into the workflow): check; on a
 * GuardrailError, apply the tenant's failure mode; otherwise apply the verdict.
 */
async function guardedStep(
  guardrail: Guardrail,
  check: GuardrailCheck,
  onError: GuardrailFailureMode,
): Promise<
  | { outcome: 'continue'; text: string; verdict: GuardrailVerdict }
  | { outcome: 'failed'; failureType: string; message: string; verdict?: GuardrailVerdict }
> {
  let verdict: GuardrailVerdict;
  try {
    verdict = await guardrail.check(check);
  } catch (error) {
    if (!(error instanceof GuardrailError)) throw error;
    const decision = decideOnGuardrailError(error.facts(check.source), onError);
    if (decision.outcome === 'fail')
      return { outcome: 'failed', failureType: decision.failureType, message: decision.message };
    verdict = decision.verdict;
  }
  const applied = applyGuardrailVerdict(verdict, check.text);
  return applied.outcome === 'continue'
    ? { outcome: 'continue', text: applied.text, verdict }
    : { outcome: 'failed', failureType: applied.failureType, message: applied.message, verdict };
}

describe('Bedrock guardrail through the emulator and the real AWS SDK', () => {
  let emulator: BedrockEmulator;
  let client: BedrockRuntimeClient;

  beforeAll(async () => {
    emulator = await startBedrockEmulator({
      guardrails: {
        grtopics01: {
          deniedTopics: [{ name: 'Investment advice', phrases: ['which stocks', 'investment advice'] }],
          blockedWords: ['project falcon'],
          blockedInputMessaging: 'We cannot help with that request.',
        },
        grpii01: {
          piiEntities: [
            { type: 'EMAIL', action: 'ANONYMIZE' },
            { type: 'PHONE', action: 'ANONYMIZE' },
            { type: 'US_SOCIAL_SECURITY_NUMBER', action: 'BLOCK' },
          ],
          blockedOutputsMessaging: 'The answer contained data we may not show.',
        },
        grground01: { contextualGrounding: { groundingThreshold: 0.75, relevanceThreshold: 0.2 } },
      },
    });
    client = createGuardrailClient({
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });

  beforeEach(() => emulator.reset());

  const guardrail = (guardrailId: string, timeoutMs?: number) =>
    createBedrockGuardrail({ client, guardrailId, guardrailVersion: '3', timeoutMs });

  function lastResponse(): Record<string, unknown> {
    const response = emulator.calls().at(-1)?.guardrail?.response;
    if (!response) throw new Error('the emulator sent no ApplyGuardrail response');
    return response;
  }

  it('passes clean input, sending the retrieved context as grounding sources, and keeps the assessment verbatim', async () => {
    const verdict = await guardrail('grtopics01').check({
      source: 'input',
      text: QUESTION,
      groundingSources: [CONTEXT, 'Returns need a receipt.'],
    });
    expect(verdict).toMatchObject({ guardrail: 'bedrock:grtopics01:3', source: 'input', action: 'none' });
    expect(verdict.text).toBeUndefined();
    const call = emulator.calls().at(-1)!;
    expect(call).toMatchObject({ operation: 'apply-guardrail', modelId: 'grtopics01' });
    expect(call.guardrail).toMatchObject({
      version: '3',
      source: 'INPUT',
      guarded: [QUESTION],
      groundingSources: [CONTEXT, 'Returns need a receipt.'],
    });
    expect(verdict.assessments).toEqual(lastResponse()['assessments']);
    expect(verdict.usage).toEqual(lastResponse()['usage']);
  });

  it('blocks a denied topic on input: Guardrail.Blocked with the provider assessment verbatim', async () => {
    const step = await guardedStep(
      guardrail('grtopics01'),
      { source: 'input', text: 'Which stocks should I buy for Project Falcon?', groundingSources: [CONTEXT] },
      'fail-open',
    );
    expect(step).toMatchObject({
      outcome: 'failed',
      failureType: FAILURE_TYPES.guardrailBlocked,
      message: 'guardrail bedrock:grtopics01:3 blocked the input: Guardrail blocked.',
      verdict: { action: 'blocked', text: 'We cannot help with that request.', reason: 'Guardrail blocked.' },
    });
    const verdict = (step as { verdict: GuardrailVerdict }).verdict;
    expect(verdict.assessments).toEqual(lastResponse()['assessments']);
    expect(verdict.assessments[0]).toMatchObject({
      topicPolicy: {
        topics: [{ name: 'Investment advice', type: 'DENY', action: 'BLOCKED', detected: true }],
      },
      wordPolicy: { customWords: [{ match: 'project falcon', action: 'BLOCKED', detected: true }] },
    });
  });

  it('anonymizes an output: the request continues with the masked text', async () => {
    const answer = 'Write to jane.doe@example.com or call +1 415 555 0100 about refunds.';
    const step = await guardedStep(
      guardrail('grpii01'),
      { source: 'output', text: answer, groundingSources: [CONTEXT], query: QUESTION },
      'fail-closed',
    );
    expect(step).toMatchObject({
      outcome: 'continue',
      text: 'Write to {EMAIL} or call {PHONE} about refunds.',
      verdict: { action: 'anonymized', reason: 'Guardrail masked.' },
    });
    const verdict = (step as { verdict: GuardrailVerdict }).verdict;
    expect(verdict.assessments).toEqual(lastResponse()['assessments']);
    expect(emulator.calls().at(-1)?.guardrail).toMatchObject({
      source: 'OUTPUT',
      guarded: [answer],
      groundingSources: [CONTEXT],
      query: QUESTION,
    });
  });

  it('blocks rather than masks when any entity is set to block', async () => {
    const verdict = await guardrail('grpii01').check({
      source: 'output',
      text: 'Her SSN is 536-22-8890 and mail jane@example.com.',
    });
    expect(verdict).toMatchObject({ action: 'blocked', text: 'The answer contained data we may not show.' });
  });

  it('blocks an answer the contextual grounding check finds ungrounded', async () => {
    const check = (text: string) =>
      guardrail('grground01').check({ source: 'output', text, groundingSources: [CONTEXT], query: QUESTION });
    await expect(check('Refunds are paid within 14 days of the return.')).resolves.toMatchObject({
      action: 'none',
    });
    const ungrounded = await check('Refunds take six months and include a bonus voucher.');
    expect(ungrounded.action).toBe('blocked');
    expect(ungrounded.assessments[0]).toMatchObject({
      contextualGroundingPolicy: {
        filters: [{ type: 'GROUNDING', action: 'BLOCKED', detected: true }, { type: 'RELEVANCE' }],
      },
    });
  });

  it.each([
    ['throttle', 'ThrottlingException', true, 2000],
    ['unavailable', 'ServiceUnavailableException', true, undefined],
    ['internal-error', 'InternalServerException', true, undefined],
    ['validation', 'ValidationException', false, undefined],
  ] as const)(
    'surfaces a scripted %s as GuardrailError %s (retryable: %s)',
    async (behaviour, code, retryable, delay) => {
      emulator.setScript('grtopics01', { behaviours: [behaviour], retryAfterSeconds: 2 });
      const error = await caught(guardrail('grtopics01').check({ source: 'input', text: QUESTION }));
      expect(error).toBeInstanceOf(GuardrailError);
      expect(error).toMatchObject({
        guardrail: 'bedrock:grtopics01:3',
        code,
        retryable,
        nextRetryDelayMs: delay,
      });
    },
  );

  it('gives up on a guardrail that does not answer within its timeout', async () => {
    emulator.setScript('grtopics01', { behaviours: ['hang'] });
    const started = performance.now();
    const error = await caught(guardrail('grtopics01', 300).check({ source: 'input', text: QUESTION }));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toMatchObject({
      code: 'TimeoutError',
      retryable: true,
      message: 'bedrock:grtopics01:3: no answer within 300 ms',
    });
  });

  describe.each([
    ['throttle', 'fail-open'],
    ['throttle', 'fail-closed'],
    ['unavailable', 'fail-open'],
    ['unavailable', 'fail-closed'],
    ['hang', 'fail-open'],
    ['hang', 'fail-closed'],
  ] as const)('a guardrail failing with %s under %s', (behaviour, onError) => {
    it('does what the policy says', async () => {
      const policy = guardrailPolicySchema.parse({
        onError,
        bedrock: { guardrailId: 'grtopics01', guardrailVersion: '3' },
      });
      const guardrails = guardrailsForPolicy(policy, { bedrockClient: client, timeoutMs: 300 });
      emulator.setScript('grtopics01', { behaviours: [behaviour] });
      const step = await guardedStep(
        guardrails.input[0]!,
        { source: 'input', text: QUESTION },
        guardrails.onError,
      );
      if (onError === 'fail-open') {
        expect(step).toMatchObject({
          outcome: 'continue',
          text: QUESTION,
          verdict: { action: 'none', assessments: [] },
        });
        expect((step as { verdict: GuardrailVerdict }).verdict.failedOpen?.code).toMatch(
          /ThrottlingException|ServiceUnavailableException|TimeoutError/,
        );
      } else {
        expect(step).toMatchObject({ outcome: 'failed', failureType: FAILURE_TYPES.guardrailUnavailable });
        expect((step as { message: string }).message).toMatch(
          /^guardrail bedrock:grtopics01:3 gave no verdict on the input \(/,
        );
      }
    });
  });
});
