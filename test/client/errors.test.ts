import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import {
  GatehouseRequestError,
  GuardrailBlockedError,
  GuardrailUnavailableError,
  toGatehouseError,
} from '../../client/errors';

function failedWith(type: string, message: string, step: string): WorkflowFailedError {
  return new WorkflowFailedError(
    'Workflow execution failed',
    ApplicationFailure.nonRetryable(message, type, { step }),
    RetryState.NON_RETRYABLE_FAILURE,
  );
}

describe('toGatehouseError for guardrail failures', () => {
  it.each([
    ['Guardrail.Blocked', GuardrailBlockedError, 'validate'],
    ['Guardrail.Unavailable', GuardrailUnavailableError, 'assemble-prompt'],
  ] as const)('turns %s into %p with its step', (type, ErrorClass, step) => {
    const error = toGatehouseError(
      failedWith(type, 'guardrail local blocked the output', step),
      'gatehouse/acme/r1',
    );
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(GatehouseRequestError);
    expect(error).toMatchObject({
      failureType: type,
      step,
      workflowId: 'gatehouse/acme/r1',
      message: 'guardrail local blocked the output',
    });
  });
});
