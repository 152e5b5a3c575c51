import { RequestInvalidError } from '../../client/errors';
import { differingFields, prepareRequest } from '../../client/gatehouse-client';
import { quoteVisibilityValue } from '../../client/visibility-query';
import { MAX_QUESTION_TOKENS, llmRequestSchema } from '../../domain/request-contract';
import { hashApiKey } from '../../governance/caller-proof';
import { requestFingerprint } from '../../governance/request-fingerprint';
import {
  compiledSchemaCount,
  compileOutputSchema,
  MAX_COMPILED_SCHEMAS,
  validateOutput,
} from '../../governance/validate-output';

const input = {
  tenantId: 'acme',
  requestId: 'r-1',
  apiKey: 'gh_acme_0123456789abcdef',
  taskType: 'qa',
  question: 'What is the refund policy?',
};

describe('prepareRequest', () => {
  it('signs the request with a proof and leaves no credential in it', () => {
    const request = prepareRequest(input, { now: 1_000 });
    expect(llmRequestSchema.safeParse(request).success).toBe(true);
    const serialized = JSON.stringify(request);
    expect(serialized).not.toContain(input.apiKey);
    expect(serialized).not.toContain(hashApiKey(input.apiKey));
    expect(request.caller).toMatchObject({ issuedAt: 1_000, expiresAt: 301_000 });
    expect(request.fingerprint).toBe(requestFingerprint(request));
  });

  it('fingerprints the same request the same way, whoever and whenever sends it', () => {
    const one = prepareRequest(input, { now: 1 });
    const two = prepareRequest({ ...input, apiKey: 'gh_acme_another-key-000000' }, { now: 2 });
    expect(two.fingerprint).toBe(one.fingerprint);
    expect(two.caller.proof).not.toBe(one.caller.proof);
    const three = prepareRequest({ ...input, question: 'What is the warranty?' });
    expect(three.fingerprint).not.toBe(one.fingerprint);
    expect(differingFields(one, three)).toEqual(['question']);
    expect(
      differingFields(one, prepareRequest({ ...input, taskType: 'summarize', dataClass: 'public' })),
    ).toEqual(['taskType', 'dataClass']);
  });

  it.each([
    [
      'an invalid output schema',
      { outputSchema: { type: 12345 } },
      /outputSchema: is not a valid JSON schema/,
    ],
    [
      'a question over the token limit',
      { question: 'a '.repeat(MAX_QUESTION_TOKENS + 10) },
      new RegExp(`the limit is ${MAX_QUESTION_TOKENS}`),
    ],
    ['an empty question', { question: '   ' }, /question must not be empty/],
    ['a lone surrogate', { question: 'bad \uD800 text' }, /well-formed UTF-16/],
  ])('rejects %s before anything starts', (_name, overrides, reason) => {
    const started = performance.now();
    expect(() => prepareRequest({ ...input, ...overrides })).toThrow(RequestInvalidError);
    expect(() => prepareRequest({ ...input, ...overrides })).toThrow(reason);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('output schemas', () => {
  it('keeps a bounded cache of compiled schemas', () => {
    for (let index = 0; index < MAX_COMPILED_SCHEMAS + 50; index++) {
      compileOutputSchema({ type: 'object', properties: { [`field${index}`]: { type: 'string' } } });
    }
    expect(compiledSchemaCount()).toBe(MAX_COMPILED_SCHEMAS);
  });

  it('validates output: non-empty, citations among the retrieved documents, and the schema', () => {
    const schema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
    expect(
      validateOutput({
        text: '{"answer":"yes"}',
        citedDocumentIds: ['a'],
        retrievedDocumentIds: ['a'],
        outputSchema: schema,
      }),
    ).toMatchObject({
      passed: true,
      json: { answer: 'yes' },
    });
    const bad = validateOutput({
      text: '{"answer":1}',
      citedDocumentIds: ['z'],
      retrievedDocumentIds: ['a'],
      outputSchema: schema,
    });
    expect(bad.passed).toBe(false);
    expect(bad.verdicts.filter((verdict) => !verdict.passed).map((verdict) => verdict.check)).toEqual([
      'citations',
      'output-schema',
    ]);
    expect(
      validateOutput({ text: ' ', citedDocumentIds: [], retrievedDocumentIds: [] }).verdicts[0],
    ).toMatchObject({ check: 'non-empty', passed: false });
    expect(
      validateOutput({
        text: 'not json',
        citedDocumentIds: [],
        retrievedDocumentIds: [],
        outputSchema: schema,
      }).verdicts.at(-1),
    ).toMatchObject({
      passed: false,
      detail: expect.stringMatching(/output is not JSON/),
    });
  });
});

describe('visibility query values', () => {
  it.each([
    ['demo', "'demo'"],
    ["x' OR TenantId = 'acme", "'x\\' OR TenantId = \\'acme'"],
    ['back\\slash', "'back\\\\slash'"],
  ])('quotes %s so it cannot end the literal', (value, quoted) => {
    expect(quoteVisibilityValue(value)).toBe(quoted);
  });

  it('refuses control characters', () => {
    expect(() => quoteVisibilityValue('a\nb')).toThrow(/control characters/);
  });
});
