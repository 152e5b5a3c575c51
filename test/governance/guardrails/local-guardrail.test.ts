import { compileTenantPatterns, redactText } from '../../../governance/redaction';
import {
  createLocalGuardrail,
  guardrailPolicySchema,
  guardrailsForPolicy,
  verdictForAudit,
} from '../../../governance/guardrails';
import type { GuardrailVerdict } from '../../../domain/guardrail-verdict';

const RULES = {
  deniedTopics: [
    { name: 'Investment advice', phrases: ['which stocks', 'investment advice', 'crypto tips'] },
    { name: 'Medical diagnosis', phrases: ['diagnose'] },
  ],
  deniedWords: ['Project Falcon', 'darkweb'],
  blockedInputMessage: 'This request was blocked by policy.',
  blockedOutputMessage: 'The answer was withheld by policy.',
};

describe('local guardrail', () => {
  const guardrail = createLocalGuardrail(RULES);

  it.each([
    ['Which STOCKS should I buy?', 'blocked', "denied topic 'Investment advice'"],
    [
      'Can you diagnose this rash? Also, project  falcon status',
      'blocked',
      "denied topic 'Medical diagnosis'; denied word 'Project Falcon'",
    ],
    ['Our stock of paper is low; which stock-keeping unit?', 'none', undefined],
    ['The falcon project is public; darkwebs are not a word here', 'none', undefined],
  ] as const)('%j → %s', async (text, action, reason) => {
    const verdict = await guardrail.check({ source: 'input', text });
    expect(verdict.action).toBe(action);
    expect(verdict.reason).toBe(reason);
    if (action === 'blocked') expect(verdict.text).toBe('This request was blocked by policy.');
  });

  it('writes its assessment in the Bedrock shape', async () => {
    const verdict = await guardrail.check({ source: 'output', text: 'Crypto tips about Project Falcon.' });
    expect(verdict).toEqual({
      guardrail: 'local',
      source: 'output',
      action: 'blocked',
      text: 'The answer was withheld by policy.',
      reason: "denied topic 'Investment advice'; denied word 'Project Falcon'",
      assessments: [
        {
          topicPolicy: {
            topics: [{ name: 'Investment advice', type: 'DENY', action: 'BLOCKED', detected: true }],
          },
          wordPolicy: {
            customWords: [{ match: 'Project Falcon', action: 'BLOCKED', detected: true }],
            managedWordLists: [],
          },
        },
      ],
    });
  });

  it('scans outputs for leaked personal data: masks it, never copying the value into the assessment', async () => {
    const tenant = compileTenantPatterns([{ name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}' }]);
    if (!tenant.ok) throw new Error(tenant.problems.join());
    const masking = createLocalGuardrail(
      { ...RULES, piiLeakage: { action: 'anonymize' } },
      { tenantPatterns: tenant.recognizers },
    );
    const answer = 'Ask jane@example.com (EMP-004211), card 4111 1111 1111 1111.';
    const verdict = await masking.check({ source: 'output', text: answer });
    expect(verdict.action).toBe('anonymized');
    expect(verdict.text).toBe('Ask {EMAIL} ({EMPLOYEE_ID}), card {CREDIT_DEBIT_CARD_NUMBER}.');
    expect(verdict.assessments).toEqual([
      {
        sensitiveInformationPolicy: {
          piiEntities: [
            { match: '{EMAIL}', type: 'EMAIL', action: 'ANONYMIZED', detected: true },
            {
              match: '{CREDIT_DEBIT_CARD_NUMBER}',
              type: 'CREDIT_DEBIT_CARD_NUMBER',
              action: 'ANONYMIZED',
              detected: true,
            },
          ],
          regexes: [{ name: 'EMPLOYEE_ID', match: '{EMPLOYEE_ID}', action: 'ANONYMIZED', detected: true }],
        },
      },
    ]);
    expect(JSON.stringify(verdict.assessments)).not.toMatch(/jane|4111|004211/);
  });

  it('blocks leaks when told to, only on outputs, and ignores redaction placeholders', async () => {
    const blocking = createLocalGuardrail({ ...RULES, piiLeakage: { action: 'block', types: ['US_SSN'] } });
    const leaked = 'The SSN on file is 536-22-8890.';
    await expect(blocking.check({ source: 'output', text: leaked })).resolves.toMatchObject({
      action: 'blocked',
      reason: 'personal data or secrets: US_SSN',
    });
    await expect(blocking.check({ source: 'input', text: leaked })).resolves.toMatchObject({
      action: 'none',
    });
    // Before restoring, an answer holds placeholders, not values: nothing has leaked.
    const { text } = redactText(leaked);
    await expect(blocking.check({ source: 'output', text })).resolves.toMatchObject({ action: 'none' });
  });

  it('stays linear with a large policy and a hostile text', async () => {
    const large = createLocalGuardrail({
      ...RULES,
      deniedWords: Array.from({ length: 500 }, (_, index) => `the word${index} of the list`),
      piiLeakage: { action: 'block' },
    });
    const text = 'the '.repeat(25_000);
    const started = performance.now();
    await expect(large.check({ source: 'output', text })).resolves.toMatchObject({ action: 'none' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('guardrail policy', () => {
  it('fills defaults and builds the guardrails it names', () => {
    const policy = guardrailPolicySchema.parse({ local: { deniedWords: ['darkweb'] } });
    expect(policy).toEqual({
      onError: 'fail-closed',
      local: {
        deniedTopics: [],
        deniedWords: ['darkweb'],
        blockedInputMessage: 'This request was blocked by policy.',
        blockedOutputMessage: 'The answer was withheld by policy.',
      },
    });
    const guardrails = guardrailsForPolicy(policy);
    expect(guardrails.input.map((guardrail) => guardrail.id)).toEqual(['local']);
    expect(guardrails.output.map((guardrail) => guardrail.id)).toEqual(['local']);
    expect(() =>
      guardrailsForPolicy(
        guardrailPolicySchema.parse({ bedrock: { guardrailId: 'abc123', guardrailVersion: 'DRAFT' } }),
      ),
    ).toThrow('the policy names Bedrock guardrail abc123 but no Bedrock client was given');
  });

  it.each([
    [{ onError: 'open' }, "onError: onError must be 'fail-open' or 'fail-closed'"],
    [
      { bedrock: { guardrailId: 'My Guardrail', guardrailVersion: '1' } },
      'bedrock.guardrailId: guardrailId must be a Bedrock guardrail id (lower-case letters and digits) or its ARN',
    ],
    [
      { bedrock: { guardrailId: 'abc123', guardrailVersion: 'latest' } },
      "bedrock.guardrailVersion: guardrailVersion must be 'DRAFT' or a version number such as '1'",
    ],
    [
      { bedrock: { guardrailId: 'abc123', guardrailVersion: '1', checks: [] } },
      "bedrock.checks: checks must name 'input', 'output' or both",
    ],
    [
      { local: { deniedTopics: [{ name: 'Stocks', phrases: [] }] } },
      'local.deniedTopics.0.phrases: a denied topic needs at least one phrase',
    ],
    [
      { local: { piiLeakage: { action: 'block', types: ['NAME'] } } },
      'local.piiLeakage.types.0: Invalid enum value.',
    ],
  ])('says what is wrong with %j', (input, message) => {
    const result = guardrailPolicySchema.safeParse(input);
    expect(result.success).toBe(false);
    const issue = result.success ? undefined : result.error.issues[0];
    expect(`${issue?.path.join('.')}: ${issue?.message}`).toContain(message);
  });
});

describe('verdicts in the audit trail', () => {
  const verdict: GuardrailVerdict = {
    guardrail: 'bedrock:abc123:1',
    source: 'output',
    action: 'anonymized',
    text: 'Write to {EMAIL}; jane@example.com was masked upstream',
    reason: 'Guardrail masked.',
    assessments: [
      {
        sensitiveInformationPolicy: {
          piiEntities: [{ match: 'jane@example.com', type: 'EMAIL', action: 'ANONYMIZED', detected: true }],
          regexes: [],
        },
        wordPolicy: {
          customWords: [{ match: 'darkweb', action: 'BLOCKED', detected: true }],
          managedWordLists: [],
        },
      },
    ],
    usage: { sensitiveInformationPolicyUnits: 1 },
  };

  it('keeps the verdict verbatim when the tenant logs in full', () => {
    expect(verdictForAudit(verdict, 'full')).toBe(verdict);
  });

  it('masks what the provider quoted when the tenant logs redacted', () => {
    const audited = verdictForAudit(verdict, 'redacted');
    expect(audited.assessments).toEqual([
      {
        sensitiveInformationPolicy: {
          piiEntities: [{ match: '[EMAIL]', type: 'EMAIL', action: 'ANONYMIZED', detected: true }],
          regexes: [],
        },
        wordPolicy: {
          customWords: [{ match: 'darkweb', action: 'BLOCKED', detected: true }],
          managedWordLists: [],
        },
      },
    ]);
    expect(audited.text).toBe('Write to {EMAIL}; [EMAIL] was masked upstream');
    expect(audited.usage).toBe(verdict.usage);
    expect(verdict.assessments[0]).toMatchObject({
      sensitiveInformationPolicy: { piiEntities: [{ match: 'jane@example.com' }] },
    });
  });

  it('keeps only digests when the tenant logs hashes', () => {
    const audited = verdictForAudit(verdict, 'hash');
    expect(JSON.stringify(audited)).not.toContain('jane@example.com');
    expect(audited.text).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
