import { GuardrailBlockedError, GuardrailUnavailableError } from '../../client/errors';
import type { SubmittedRequest } from '../../client/gatehouse-client';
import type { GuardrailVerdict } from '../../domain/guardrail-verdict';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { startBedrockEmulator, type BedrockEmulator } from '../../emulators/bedrock-runtime-emulator';
import { createBedrockProvider } from '../../providers/bedrock-provider';
import { listAuditEvents } from '../../store/audit-repository';
import { putPolicy } from '../../store/policy-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { saveHistoryIfRecording } from '../support/history-recording';

const CLAUDE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const GUARDRAIL = 'gatehouseguard';
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

function claudeOnly(suffix: string, endpoint: string): RouteTable {
  return routeTableSchema.parse({
    version: 'governance-test',
    routes: [
      {
        id: 'claude',
        provider: 'bedrock',
        model: CLAUDE,
        label: 'Claude 3.5 Haiku on Bedrock (emulated)',
        region: 'us-east-1',
        endpoint,
        priceUsdPerMillionTokens: { input: 0.8, output: 4 },
        contextWindowTokens: 200_000,
        maxOutputTokens: 1024,
        dataClasses: ['public', 'internal', 'confidential'],
        countTokensWith: 'provider',
        timeoutMs: 5_000,
        taskQueue: `route-claude-${suffix}`,
        retry: { maximumAttempts: 2, initialIntervalMs: 20 },
      },
    ],
    tasks: { default: { routes: ['claude'], budget: { maxTotalAttempts: 2, maxFallbacks: 0 } } },
  });
}

describe('redaction and guardrails in the request path, through the Bedrock emulator', () => {
  let harness: GatehouseHarness;
  let bedrock: BedrockEmulator;
  let requestNumber = 0;

  const usePolicy = (extra: Record<string, unknown>) =>
    putPolicy(harness.db, 'demo', { ...DEMO_POLICY_DOCUMENT, ...extra });
  const ask = (question: string, stream = false) =>
    harness.gatehouse.submit(
      harness.input({ question, stream, requestId: `governance-${Date.now()}-${(requestNumber += 1)}` }),
    );
  const resultOf = (submitted: SubmittedRequest) =>
    harness.gatehouse.result(submitted.workflowId, harness.caller);
  const auditOf = (workflowId: string) => listAuditEvents(harness.db, { tenantId: 'demo', workflowId });
  const verdictsIn = async (workflowId: string, step: 'guard-input' | 'guard-output') => {
    const event = (await auditOf(workflowId)).find((candidate) => candidate.step === step);
    return (event?.payload as { guardrailVerdicts?: GuardrailVerdict[] } | undefined)?.guardrailVerdicts;
  };
  const converseCalls = () => bedrock.calls().filter((call) => call.operation === 'converse');
  const guardrailCalls = () => bedrock.calls().filter((call) => call.operation === 'apply-guardrail');

  beforeAll(async () => {
    bedrock = await startBedrockEmulator();
    harness = await startHarness({
      routeTable: (suffix) => claudeOnly(suffix, bedrock.endpoint),
      providers: {
        bedrock: createBedrockProvider({ defaultRegion: 'us-east-1', credentials: AWS_CREDENTIALS }),
      },
      bedrock: { defaultRegion: 'us-east-1', endpoint: bedrock.endpoint, credentials: AWS_CREDENTIALS },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await bedrock?.close();
  });
  beforeEach(() => bedrock.reset());

  describe('redaction', () => {
    it('sends placeholders, not values, to the route, restores the answer and audits only counts', async () => {
      await usePolicy({ logging: 'hash', redaction: { dataClasses: ['internal'] } });
      bedrock.setScript(CLAUDE, { answer: 'Refunds go back to the card; I will write to [EMAIL_1] today.' });
      const submitted = await ask(`What is the refund policy? My address is ${EMAIL}, card ${CARD}.`);
      const result = await resultOf(submitted);

      const [converse] = converseCalls();
      expect(converse?.userText).toContain('[EMAIL_1]');
      expect(converse?.userText).toContain('[PAYMENT_CARD_1]');
      expect(converse?.userText).not.toContain(EMAIL);
      expect(converse?.userText).not.toContain(CARD);
      // The provider's token count before the reservation saw the same redacted prompt.
      const [counted] = bedrock.calls().filter((call) => call.operation === 'count-tokens');
      expect(counted?.userText).toContain('[EMAIL_1]');
      expect(counted?.userText).not.toContain(EMAIL);
      expect(result.output).toBe(`Refunds go back to the card; I will write to ${EMAIL} today.`);
      expect(result.attempts[0]?.redactedEntities).toEqual({ EMAIL: 1, PAYMENT_CARD: 1 });

      const events = await auditOf(result.workflowId);
      const attempt = events.find((event) => event.eventType === 'inference.succeeded');
      expect(attempt?.payload).toMatchObject({ redactedEntities: { EMAIL: 1, PAYMENT_CARD: 1 } });
      const restoring = events.find((event) => event.step === 'guard-output');
      expect(restoring?.payload).toMatchObject({ status: 'succeeded', restoredPlaceholders: 1 });
      // Neither the values nor the mapping reach the audit, whatever event.
      const audited = JSON.stringify(events.map((event) => event.payload));
      expect(audited).not.toContain(EMAIL);
      expect(audited).not.toContain('4111');
      expect(audited).not.toContain('gatehouse.redaction-mapping');
      const attributes = JSON.stringify((await submitted.handle.describe()).searchAttributes);
      expect(attributes).not.toContain(EMAIL);
      await saveHistoryIfRecording(submitted.handle, 'redacted-request');
    });

    it('leaves the placeholders in the answer when the policy does not restore it', async () => {
      await usePolicy({ redaction: { dataClasses: ['internal'], restoreResponse: false } });
      bedrock.setScript(CLAUDE, { answer: 'I will write to [EMAIL_1] today.' });
      const result = await resultOf(await ask(`What is the refund policy? Write to ${EMAIL}.`));
      expect(result.output).toBe('I will write to [EMAIL_1] today.');
      expect(converseCalls()[0]?.userText).not.toContain(EMAIL);
    });

    it('sends the prompt as it is when the data class is not one the policy redacts', async () => {
      await usePolicy({ redaction: { dataClasses: ['confidential'] } });
      const result = await resultOf(await ask(`What is the refund policy? Write to ${EMAIL}.`));
      expect(converseCalls()[0]?.userText).toContain(EMAIL);
      expect(result.attempts[0]?.redactedEntities).toBeUndefined();
    });
  });

  describe('guardrails', () => {
    it('blocks a question on a denied topic before any model call, with the verdict in the audit', async () => {
      bedrock.setGuardrail(GUARDRAIL, {
        deniedTopics: [{ name: 'investment-advice', phrases: ['stock tips'] }],
      });
      await usePolicy({
        guardrails: { bedrock: { guardrailId: GUARDRAIL, guardrailVersion: '1' }, onError: 'fail-closed' },
      });
      const submitted = await ask('Any stock tips for the refund money?');
      const failure = await resultOf(submitted).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(GuardrailBlockedError);
      expect(failure).toMatchObject({ failureType: 'Guardrail.Blocked' });
      expect(converseCalls()).toHaveLength(0);
      const [call] = guardrailCalls();
      expect(call?.guardrail?.source).toBe('INPUT');
      expect(call?.guardrail?.guarded).toEqual(['Any stock tips for the refund money?']);
      // The retrieved context went along as the grounding source.
      expect(call?.guardrail?.groundingSources.join(' ')).toMatch(/refund/i);

      const verdicts = await verdictsIn(submitted.workflowId, 'guard-input');
      expect(verdicts).toEqual([
        expect.objectContaining({
          guardrail: `bedrock:${GUARDRAIL}:1`,
          source: 'input',
          action: 'blocked',
          // Verbatim, as Bedrock sent it.
          assessments: (call?.guardrail?.response as { assessments: unknown[] }).assessments,
        }),
      ]);
      const closing = (await auditOf(submitted.workflowId)).find(
        (event) => event.eventType === 'request.failed',
      );
      expect(closing?.payload).toMatchObject({ failure: { type: 'Guardrail.Blocked', step: 'guard-input' } });
      await saveHistoryIfRecording(submitted.handle, 'guardrail-blocked');
    });

    it('blocks an answer with a denied word from the local guardrail', async () => {
      await usePolicy({ guardrails: { local: { deniedWords: ['guaranteed returns'] } } });
      bedrock.setScript(CLAUDE, { answer: 'Refunds come with guaranteed returns.' });
      const submitted = await ask('What is the refund policy?');
      await expect(resultOf(submitted)).rejects.toMatchObject({ failureType: 'Guardrail.Blocked' });
      expect(converseCalls()).toHaveLength(1);
      expect(await verdictsIn(submitted.workflowId, 'guard-output')).toEqual([
        expect.objectContaining({ guardrail: 'local', source: 'output', action: 'blocked' }),
      ]);
    });

    it('anonymizes personal data in the question before the prompt is built', async () => {
      bedrock.setGuardrail(GUARDRAIL, { piiEntities: [{ type: 'EMAIL', action: 'ANONYMIZE' }] });
      await usePolicy({
        guardrails: { bedrock: { guardrailId: GUARDRAIL, guardrailVersion: '1', checks: ['input'] } },
      });
      const submitted = await ask(`What is the refund policy? Reply to ${EMAIL}.`);
      const result = await resultOf(submitted);
      expect(converseCalls()[0]?.userText).toContain('Reply to {EMAIL}.');
      expect(converseCalls()[0]?.userText).not.toContain(EMAIL);
      expect(result.guardrailVerdicts).toEqual([
        expect.objectContaining({ source: 'input', action: 'anonymized' }),
      ]);
      const [verdict] = (await verdictsIn(submitted.workflowId, 'guard-input')) ?? [];
      expect(verdict).toMatchObject({
        action: 'anonymized',
        text: 'What is the refund policy? Reply to {EMAIL}.',
      });
      // Logging mode `full`: Bedrock's own quote of what it matched is kept verbatim.
      expect(JSON.stringify(verdict?.assessments)).toContain(EMAIL);
    });

    it('masks personal data the model leaks into its answer', async () => {
      await usePolicy({ guardrails: { local: { piiLeakage: { action: 'anonymize' } } } });
      bedrock.setScript(CLAUDE, { answer: 'Call our refund desk at +1 415 555 0100.' });
      const result = await resultOf(await ask('What is the refund policy?'));
      expect(result.output).toBe('Call our refund desk at {PHONE}.');
      expect(result.guardrailVerdicts).toEqual([
        expect.objectContaining({ guardrail: 'local', source: 'input', action: 'none' }),
        expect.objectContaining({ guardrail: 'local', source: 'output', action: 'anonymized' }),
      ]);
    });

    it('fails open when the policy says so: the request goes on and the verdict records why', async () => {
      bedrock.setScript(GUARDRAIL, { behaviours: ['unavailable'] });
      await usePolicy({
        guardrails: { bedrock: { guardrailId: GUARDRAIL, guardrailVersion: '1' }, onError: 'fail-open' },
      });
      const submitted = await ask('What is the refund policy?');
      const result = await resultOf(submitted);
      expect(result.output.length).toBeGreaterThan(0);
      // Three tries on the input and three on the output: Temporal's retries, then the policy.
      expect(guardrailCalls()).toHaveLength(6);
      for (const step of ['guard-input', 'guard-output'] as const) {
        expect(await verdictsIn(submitted.workflowId, step)).toEqual([
          expect.objectContaining({
            action: 'none',
            failedOpen: expect.objectContaining({ code: 'ServiceUnavailableException' }),
          }),
        ]);
      }
    });

    it('fails closed when the policy says so, with its own failure type and the reason in the audit', async () => {
      bedrock.setScript(GUARDRAIL, { behaviours: ['unavailable'] });
      await usePolicy({
        guardrails: { bedrock: { guardrailId: GUARDRAIL, guardrailVersion: '1' }, onError: 'fail-closed' },
      });
      const submitted = await ask('What is the refund policy?');
      const failure = await resultOf(submitted).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(GuardrailUnavailableError);
      expect(converseCalls()).toHaveLength(0);
      expect(guardrailCalls()).toHaveLength(3);
      const events = await auditOf(submitted.workflowId);
      const step = events.find((event) => event.step === 'guard-input');
      expect(step?.payload).toMatchObject({
        status: 'failed',
        failureType: 'Guardrail.Unavailable',
        reason: expect.stringContaining('ServiceUnavailableException'),
      });
    });

    it('answers a streaming request whole when output guardrails or redaction must see the answer first', async () => {
      await usePolicy({});
      await resultOf(await ask('What is the refund policy?', true));
      expect(bedrock.calls().map((call) => call.operation)).toContain('converse-stream');
      for (const policy of [
        { guardrails: { local: { deniedWords: ['guaranteed returns'] } } },
        { redaction: { dataClasses: ['internal'] } },
      ]) {
        bedrock.reset();
        await usePolicy(policy);
        const result = await resultOf(await ask(`What is the refund policy? Write to ${EMAIL}.`, true));
        expect(result.output.length).toBeGreaterThan(0);
        expect(bedrock.calls().map((call) => call.operation)).not.toContain('converse-stream');
        expect(converseCalls()).toHaveLength(1);
      }
    });

    it('refuses a request whose policy names a broken guardrail section, naming the field', async () => {
      await usePolicy({ guardrails: { onError: 'sometimes' } });
      const submitted = await ask('What is the refund policy?');
      await expect(resultOf(submitted)).rejects.toMatchObject({
        failureType: 'Policy.Denied',
        message: expect.stringContaining("guardrails.onError: onError must be 'fail-open' or 'fail-closed'"),
      });
    });
  });
});
