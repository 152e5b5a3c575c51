import { INFERENCE_FAILURE_TYPES } from '../../domain/failure-types';
import {
  classifyAttemptFailure,
  decodeInferenceFailure,
  encodeInferenceFailure,
  runIdOfHeartbeat,
  type InferenceFailureDetails,
} from '../../domain/inference-failure';

const details: InferenceFailureDetails = {
  failureType: INFERENCE_FAILURE_TYPES.rateLimited,
  retryable: true,
  fallback: true,
  code: 'ThrottlingException',
  nextRetryDelayMs: 1_000,
  runId: 'run-1',
  usage: { inputTokens: 12, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
  usageEstimated: true,
  latencyMs: 40,
  deliveredDeltas: 0,
  ledgerRecorded: true,
};

describe('the inference failure contract', () => {
  it('round-trips through encode and decode', () => {
    expect(decodeInferenceFailure(encodeInferenceFailure(details))).toEqual(details);
  });

  it.each([
    ['no details', undefined],
    ['an empty list', []],
    ['a string', ['Inference.Unknown']],
    ['a missing run id', [{ ...details, runId: undefined }]],
    ['negative tokens', [{ ...details, usage: { ...details.usage, inputTokens: -1 } }]],
    ['usage as text', [{ ...details, usage: '12 tokens' }]],
  ])('decodes %s to nothing', (_name, encoded) => {
    expect(decodeInferenceFailure(encoded as unknown[] | undefined)).toBeUndefined();
  });

  it('classifies a failure with details by its details, keeping the run and usage', () => {
    const classified = classifyAttemptFailure({
      kind: 'application',
      type: 'Inference.RateLimited',
      nonRetryable: false,
      details,
      message: 'slow down',
    });
    expect(classified).toEqual({
      classification: {
        failureType: 'Inference.RateLimited',
        retryable: true,
        fallback: true,
        code: 'ThrottlingException',
        nextRetryDelayMs: 1_000,
      },
      runId: 'run-1',
      usage: details.usage,
      usageEstimated: true,
      latencyMs: 40,
      deliveredDeltas: 0,
      timeToFirstTokenMs: undefined,
      ledgerRecorded: true,
      message: 'slow down',
    });
  });

  it.each([
    [
      'a timeout names the run of its last heartbeat, its usage unknown',
      {
        kind: 'timeout' as const,
        timeoutType: 'START_TO_CLOSE',
        message: 't',
        lastHeartbeat: { runId: 'run-9', deliveredDeltas: 0 },
      },
      { failureType: 'Inference.Timeout', retryable: true, fallback: true, code: 'START_TO_CLOSE' },
      'run-9',
    ],
    [
      'a timeout before any heartbeat names no run',
      { kind: 'timeout' as const, timeoutType: 'SCHEDULE_TO_START', message: 't' },
      { failureType: 'Inference.Timeout', retryable: true, fallback: true, code: 'SCHEDULE_TO_START' },
      undefined,
    ],
    [
      'a cancellation without details stops everything',
      { kind: 'cancelled' as const, message: 'c' },
      { failureType: 'Inference.Cancelled', retryable: false, fallback: false, code: 'cancelled' },
      undefined,
    ],
    [
      'an unknown application failure keeps its retryability and may fall back',
      { kind: 'application' as const, type: 'Whatever', nonRetryable: true, message: 'x' },
      { failureType: 'Inference.Unknown', retryable: false, fallback: true, code: 'Whatever' },
      undefined,
    ],
    [
      'anything else is an unknown, retryable failure',
      { kind: 'other' as const, message: 'x' },
      { failureType: 'Inference.Unknown', retryable: true, fallback: true, code: 'unknown' },
      undefined,
    ],
  ])('%s', (_name, observed, classification, runId) => {
    const classified = classifyAttemptFailure(observed);
    expect(classified.classification).toEqual(classification);
    expect(classified.runId).toBe(runId);
    expect(classified.ledgerRecorded).toBeUndefined();
    expect(classified.usage).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it('reads the run id of a heartbeat only when it is one', () => {
    expect(runIdOfHeartbeat({ runId: 'r', deliveredDeltas: 1 })).toBe('r');
    expect(runIdOfHeartbeat({ runId: '' })).toBeUndefined();
    expect(runIdOfHeartbeat('r')).toBeUndefined();
    expect(runIdOfHeartbeat(undefined)).toBeUndefined();
  });
});
