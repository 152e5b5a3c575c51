import type { InferenceRequest } from '../../../domain/step-contracts';
import { redactInferenceRequest, RedactionSettingsError, restoreAnswer } from '../../../governance/redaction';

const EMAIL = 'jane.doe@example.com';
const EMPLOYEE = 'EMP-004217';

function request(redaction?: InferenceRequest['redaction']): InferenceRequest {
  return {
    workflowId: 'gatehouse/demo/r1',
    tenantId: 'demo',
    attempt: 1,
    route: {} as InferenceRequest['route'],
    prompt: { system: `Answer ${EMAIL} politely.`, user: `Question: is ${EMPLOYEE} on leave? Ask ${EMAIL}.` },
    promptTokens: 20,
    question: `is ${EMPLOYEE} on leave? Ask ${EMAIL}.`,
    chunks: [
      {
        chunkId: 'c1',
        documentId: 'd1',
        documentVersion: 1,
        title: `Leave of ${EMPLOYEE}`,
        classification: 'confidential',
        text: `${EMPLOYEE} is on leave; HR contact ${EMAIL}, card 4111 1111 1111 1111.`,
        score: 1,
      },
    ],
    maxOutputTokens: 100,
    responseFormat: 'text',
    stream: false,
    attribution: { principalId: 'p', taskType: 'qa', promptRef: 'qa@1' },
    redaction,
  };
}

const control = (settings: Record<string, unknown>): InferenceRequest['redaction'] => ({
  dataClasses: ['confidential'],
  exemptRoutes: [],
  restoreResponse: true,
  settings,
});

describe('redactInferenceRequest', () => {
  it('leaves a request alone when policy requires no redaction', () => {
    const original = request();
    expect(redactInferenceRequest(original)).toEqual({ request: original });
  });

  it('redacts every text that leaves with one mapping, tenant patterns included', () => {
    const { request: redacted, redaction } = redactInferenceRequest(
      request(control({ tenantPatterns: [{ name: 'EMPLOYEE_ID', pattern: 'EMP-[0-9]{6}' }] })),
    );
    const outbound = JSON.stringify(redacted);
    expect(outbound).not.toContain(EMAIL);
    expect(outbound).not.toContain(EMPLOYEE);
    expect(outbound).not.toContain('4111');
    // The same value has the same placeholder in every part of the request.
    expect(redacted.prompt.system).toBe('Answer [EMAIL_1] politely.');
    expect(redacted.question).toBe('is [EMPLOYEE_ID_1] on leave? Ask [EMAIL_1].');
    expect(redacted.chunks[0]!.title).toBe('Leave of [EMPLOYEE_ID_1]');
    expect(redaction!.entityCounts).toEqual({ EMAIL: 1, EMPLOYEE_ID: 1, PAYMENT_CARD: 1 });
    expect(restoreAnswer('Ask [EMAIL_1] about [EMPLOYEE_ID_1].', redaction!.mapping)).toEqual({
      text: `Ask ${EMAIL} about ${EMPLOYEE}.`,
      restored: 2,
      unknownPlaceholders: [],
    });
  });

  it('redacts only the types the policy lists', () => {
    const { request: redacted } = redactInferenceRequest(request(control({ types: ['PAYMENT_CARD'] })));
    expect(redacted.chunks[0]!.text).toContain(EMAIL);
    expect(redacted.chunks[0]!.text).toContain('[PAYMENT_CARD_1]');
  });

  it('never sends the prompt when the settings no longer validate', () => {
    expect(() => redactInferenceRequest(request(control({ types: ['NAMES'] })))).toThrow(
      RedactionSettingsError,
    );
  });
});
