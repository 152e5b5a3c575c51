import { governanceControlsOf } from '../../governance/policy-controls';

describe('governanceControlsOf: the redaction and guardrail sections of a policy document', () => {
  it('gives no controls for a policy without either section', () => {
    expect(governanceControlsOf({ allowedDataClasses: ['public'] })).toEqual({ ok: true });
  });

  it('fills in the redaction defaults and keeps the section for the infer activity', () => {
    const controls = governanceControlsOf({ redaction: { types: ['EMAIL'] } });
    expect(controls).toEqual({
      ok: true,
      redaction: {
        dataClasses: ['confidential', 'restricted'],
        exemptRoutes: [],
        restoreResponse: true,
        settings: { types: ['EMAIL'], tenantPatterns: [], restoreResponse: true },
      },
    });
  });

  const guardrailCases: Array<[string, unknown, Record<string, unknown>]> = [
    ['local only', { local: {} }, { input: true, output: true, remote: false, onError: 'fail-closed' }],
    [
      'Bedrock on outputs only, failing open',
      { onError: 'fail-open', bedrock: { guardrailId: 'abc1', guardrailVersion: '2', checks: ['output'] } },
      { input: false, output: true, remote: true, onError: 'fail-open' },
    ],
    [
      'Bedrock on both sides',
      { bedrock: { guardrailId: 'abc1', guardrailVersion: 'DRAFT' } },
      { input: true, output: true, remote: true },
    ],
  ];
  it.each(guardrailCases)('guardrails: %s', (_name, section, expected) => {
    const controls = governanceControlsOf({ guardrails: section });
    expect(controls.ok && controls.guardrails).toMatchObject(expected);
  });

  const broken: Array<[string, unknown, string]> = [
    [
      'an unknown failure mode',
      { guardrails: { onError: 'maybe' } },
      "guardrails.onError: onError must be 'fail-open' or 'fail-closed'",
    ],
    [
      'a guardrail id that is not one',
      { guardrails: { bedrock: { guardrailId: 'Not An Id', guardrailVersion: '1' } } },
      'guardrails.bedrock.guardrailId: guardrailId must be a Bedrock guardrail id',
    ],
    ['an unknown data class', { redaction: { dataClasses: ['secret'] } }, 'redaction.dataClasses.0'],
    [
      'an empty list of data classes',
      { redaction: { dataClasses: [] } },
      'redaction.dataClasses: redaction.dataClasses must name at least one data class',
    ],
    [
      'a tenant pattern that matches ordinary words',
      { redaction: { tenantPatterns: [{ name: 'WORDS', pattern: '[a-zA-Z]+' }] } },
      'redaction.tenantPatterns',
    ],
  ];
  it.each(broken)('names the field of %s', (_name, document, message) => {
    const controls = governanceControlsOf(document);
    expect(controls.ok).toBe(false);
    expect(!controls.ok && controls.problem).toContain(message);
  });
});
