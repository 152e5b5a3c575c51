import { FAILURE_TYPES, isFailureType } from '../../domain/failure-types';
import {
  applyGuardrailVerdict,
  decideOnGuardrailError,
  type GuardrailVerdict,
} from '../../domain/guardrail-verdict';

const facts = {
  guardrail: 'bedrock:abc123:1',
  source: 'output' as const,
  code: 'ThrottlingException',
  message: 'Too many requests, please wait before trying again.',
};

describe('decideOnGuardrailError', () => {
  it('fails open: proceeds with a pass verdict that records the guardrail never answered', () => {
    expect(decideOnGuardrailError(facts, 'fail-open')).toEqual({
      outcome: 'proceed',
      verdict: {
        guardrail: 'bedrock:abc123:1',
        source: 'output',
        action: 'none',
        reason: 'guardrail unavailable (ThrottlingException); policy fails open',
        assessments: [],
        failedOpen: { code: 'ThrottlingException', message: facts.message },
      },
    });
  });

  it('fails closed: ends the request as Guardrail.Unavailable, naming guardrail, side and cause', () => {
    expect(decideOnGuardrailError(facts, 'fail-closed')).toEqual({
      outcome: 'fail',
      failureType: 'Guardrail.Unavailable',
      message:
        'guardrail bedrock:abc123:1 gave no verdict on the output (ThrottlingException: Too many requests, please wait before trying again.); policy fails closed',
    });
  });
});

describe('applyGuardrailVerdict', () => {
  const verdict = (action: GuardrailVerdict['action'], text?: string): GuardrailVerdict => ({
    guardrail: 'local',
    source: 'input',
    action,
    assessments: [],
    reason: action === 'none' ? undefined : "denied word 'darkweb'",
    ...(text === undefined ? {} : { text }),
  });

  it.each([
    ['none', undefined, { outcome: 'continue', text: 'original' }],
    ['anonymized', 'masked {EMAIL}', { outcome: 'continue', text: 'masked {EMAIL}' }],
    [
      'blocked',
      'This request was blocked by policy.',
      {
        outcome: 'blocked',
        failureType: 'Guardrail.Blocked',
        message: "guardrail local blocked the input: denied word 'darkweb'",
      },
    ],
  ] as const)('%s → %j', (action, text, expected) => {
    expect(applyGuardrailVerdict(verdict(action, text), 'original')).toEqual(expected);
  });
});

describe('guardrail failure types', () => {
  it('are public failure types', () => {
    expect(FAILURE_TYPES.guardrailBlocked).toBe('Guardrail.Blocked');
    expect(FAILURE_TYPES.guardrailUnavailable).toBe('Guardrail.Unavailable');
    expect(isFailureType('Guardrail.Blocked')).toBe(true);
    expect(isFailureType('Guardrail.Unavailable')).toBe(true);
  });
});
