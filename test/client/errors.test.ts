import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import {
  ApprovalDeniedError,
  BudgetExceededError,
  GatehouseRequestError,
  GovernanceUnattestedError,
  GuardrailBlockedError,
  GuardrailUnavailableError,
  InferenceExhaustedError,
  PolicyDeniedError,
  RateLimitExceededError,
  RequestInvalidError,
  RetrievalUnavailableError,
  StreamInterruptedError,
  toGatehouseError,
  ValidationFailedError,
} from '../../client/errors';
import { FAILURE_TYPES } from '../../domain/failure-types';

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

describe('toGatehouseError for every failure type a caller branches on', () => {
  it.each([
    [FAILURE_TYPES.policyDenied, PolicyDeniedError],
    [FAILURE_TYPES.budgetExceeded, BudgetExceededError],
    [FAILURE_TYPES.rateLimitExceeded, RateLimitExceededError],
    [FAILURE_TYPES.inferenceExhausted, InferenceExhaustedError],
    [FAILURE_TYPES.validationFailed, ValidationFailedError],
    [FAILURE_TYPES.approvalDenied, ApprovalDeniedError],
    [FAILURE_TYPES.approvalTimedOut, ApprovalDeniedError],
    [FAILURE_TYPES.streamInterrupted, StreamInterruptedError],
    [FAILURE_TYPES.retrievalUnavailable, RetrievalUnavailableError],
    [FAILURE_TYPES.governanceUnattested, GovernanceUnattestedError],
    [FAILURE_TYPES.requestInvalid, RequestInvalidError],
  ] as const)('turns %s into %p', (type, ErrorClass) => {
    const error = toGatehouseError(failedWith(type, 'refused', 'authorize'), 'gatehouse/acme/r1');
    expect(error).toBeInstanceOf(ErrorClass);
    expect((error as GatehouseRequestError).name).toBe(ErrorClass.name);
  });

  it('gives the plain error class to a failure type no class names, and passes other errors through', () => {
    const error = toGatehouseError(
      failedWith(FAILURE_TYPES.routeUnavailable, 'no route', 'select-route'),
      'w',
    );
    expect(error).toBeInstanceOf(GatehouseRequestError);
    expect(error).not.toBeInstanceOf(PolicyDeniedError);
    expect((error as GatehouseRequestError).failureType).toBe(FAILURE_TYPES.routeUnavailable);
    const other = new Error('socket closed');
    expect(toGatehouseError(other, 'w')).toBe(other);
  });
});
