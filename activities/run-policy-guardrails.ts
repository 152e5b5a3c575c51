import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { GuardrailControl, GuardResult } from '../domain/governance-controls';
import {
  GuardrailError,
  guardrailPolicySchema,
  guardrailsForPolicy,
  GuardrailsUnavailableError,
  runGuardrails,
  type Guardrail,
  type GuardrailCheck,
} from '../governance/guardrails';
import type { ActivityDependencies } from './activity-dependencies';

/** Stands in for a Bedrock guardrail on a worker with no Bedrock client: it never answers. */
function unconfiguredGuardrail(bedrock: { guardrailId: string; guardrailVersion: string }): Guardrail {
  const id = `bedrock:${bedrock.guardrailId}:${bedrock.guardrailVersion}`;
  return {
    id,
    check() {
      return Promise.reject(
        new GuardrailError(`${id}: this worker has no Bedrock client`, id, 'NotConfigured', false),
      );
    },
  };
}

/**
 * Runs the guardrails the tenant's policy names for one side of the model. A guardrail that cannot answer
 * fails the activity as `FAILURE_TYPES.guardrailUnavailable` (retryable when the provider said so, Retry-After
 * honoured) with the verdicts so far in its details: once Temporal's retries are spent, the workflow
 * applies the policy's fail-open or fail-closed rule.
 */
export async function runPolicyGuardrails(
  deps: Pick<ActivityDependencies, 'guardrailClient'>,
  control: GuardrailControl,
  check: GuardrailCheck,
): Promise<GuardResult> {
  const parsed = guardrailPolicySchema.safeParse(control.settings);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `the policy's guardrails section is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
      FAILURE_TYPES.guardrailUnavailable,
    );
  }
  const policy = parsed.data;
  const bedrockClient = policy.bedrock ? deps.guardrailClient?.(policy.bedrock.region) : undefined;
  const guardrails = guardrailsForPolicy(bedrockClient ? policy : { ...policy, bedrock: undefined }, {
    bedrockClient,
  });
  const selected = check.source === 'input' ? guardrails.input : guardrails.output;
  if (policy.bedrock && !bedrockClient && policy.bedrock.checks.includes(check.source)) {
    selected.push(unconfiguredGuardrail(policy.bedrock));
  }
  try {
    return await runGuardrails(selected, check, { signal: Context.current().cancellationSignal });
  } catch (error) {
    if (!(error instanceof GuardrailsUnavailableError)) throw error;
    const { guardrailError } = error;
    throw ApplicationFailure.create({
      message: error.message,
      type: FAILURE_TYPES.guardrailUnavailable,
      nonRetryable: !guardrailError.retryable,
      nextRetryDelay: guardrailError.nextRetryDelayMs,
      details: [error.details],
    });
  }
}
