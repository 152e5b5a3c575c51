import type { GuardrailVerdict } from '../../../domain/guardrail-verdict';
import {
  GuardrailError,
  GuardrailsUnavailableError,
  runGuardrails,
  type Guardrail,
  type GuardrailCheck,
} from '../../../governance/guardrails';

/** A guardrail that answers from a script and remembers the texts it saw. */
function scripted(id: string, answer: (text: string) => Omit<GuardrailVerdict, 'guardrail' | 'source'>) {
  const seen: string[] = [];
  const guardrail: Guardrail = {
    id,
    async check(request: GuardrailCheck) {
      seen.push(request.text);
      return { guardrail: id, source: request.source, ...answer(request.text) };
    },
  };
  return { guardrail, seen };
}

const pass = () => ({ action: 'none' as const, assessments: [] });
const check: GuardrailCheck = { source: 'input', text: 'mail jane@example.com', groundingSources: ['doc'] };

describe('runGuardrails: the policy guardrails of one side, in order', () => {
  it('hands each guardrail the text the one before it masked', async () => {
    const masking = scripted('local', (text) => ({
      action: 'anonymized',
      text: text.replace('jane@example.com', '{EMAIL}'),
      assessments: [],
    }));
    const second = scripted('bedrock:g:1', pass);
    const result = await runGuardrails([masking.guardrail, second.guardrail], check);
    expect(second.seen).toEqual(['mail {EMAIL}']);
    expect(result.text).toBe('mail {EMAIL}');
    expect(result.verdicts.map((verdict) => verdict.action)).toEqual(['anonymized', 'none']);
    expect(result.blocked).toBeUndefined();
  });

  it('stops at the first block and says which guardrail blocked', async () => {
    const blocking = scripted('local', () => ({
      action: 'blocked',
      reason: "denied word 'x'",
      assessments: [],
    }));
    const never = scripted('bedrock:g:1', pass);
    const result = await runGuardrails([blocking.guardrail, never.guardrail], check);
    expect(never.seen).toEqual([]);
    expect(result.blocked).toEqual({
      guardrail: 'local',
      message: "guardrail local blocked the input: denied word 'x'",
    });
  });

  it('reports a guardrail that cannot answer with the verdicts and text of those before it', async () => {
    const first = scripted('local', pass);
    const failing: Guardrail = {
      id: 'bedrock:g:1',
      async check() {
        throw new GuardrailError(
          'bedrock:g:1: ThrottlingException: slow down',
          'bedrock:g:1',
          'ThrottlingException',
          true,
          2000,
        );
      },
    };
    const error = await runGuardrails([first.guardrail, failing], check).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuardrailsUnavailableError);
    const unavailable = error as GuardrailsUnavailableError;
    expect(unavailable.guardrailError.retryable).toBe(true);
    expect(unavailable.guardrailError.nextRetryDelayMs).toBe(2000);
    expect(unavailable.details).toEqual({
      facts: {
        guardrail: 'bedrock:g:1',
        source: 'input',
        code: 'ThrottlingException',
        message: 'bedrock:g:1: ThrottlingException: slow down',
      },
      verdicts: [expect.objectContaining({ guardrail: 'local', action: 'none' })],
      text: check.text,
    });
  });

  it('treats an unexpected error as a guardrail that cannot answer, not retried', async () => {
    const broken: Guardrail = {
      id: 'local',
      async check() {
        throw new TypeError('boom');
      },
    };
    const error = (await runGuardrails([broken], check).catch(
      (caught: unknown) => caught,
    )) as GuardrailsUnavailableError;
    expect(error).toBeInstanceOf(GuardrailsUnavailableError);
    expect(error.guardrailError.retryable).toBe(false);
  });
});
