import {
  BEDROCK_EXCEPTION_TABLE,
  classifyBedrockError,
  classifyClientSideFailure,
  classifyHttpStatus,
  classifyTransportError,
  HTTP_STATUS_TABLE,
  INFERENCE_FAILURE_TYPES,
  parseRetryAfter,
} from '../../domain/classify-provider-error';

const KNOWN_TYPES: string[] = Object.values(INFERENCE_FAILURE_TYPES);

describe('classifyBedrockError', () => {
  it('retries ThrottlingException although the SDK calls it a client fault, and keeps Retry-After', () => {
    expect(
      classifyBedrockError({ name: 'ThrottlingException', httpStatus: 429, retryAfterMs: 2000 }),
    ).toEqual({
      failureType: 'Inference.RateLimited',
      retryable: true,
      fallback: true,
      nextRetryDelayMs: 2000,
      code: 'ThrottlingException',
    });
  });

  it.each([
    ['ServiceUnavailableException', 'Inference.Unavailable'],
    ['InternalServerException', 'Inference.Unavailable'],
    ['ModelNotReadyException', 'Inference.Unavailable'],
    ['ModelTimeoutException', 'Inference.Timeout'],
    ['ModelErrorException', 'Inference.ModelError'],
  ])('retries %s as %s', (name, failureType) => {
    expect(classifyBedrockError({ name })).toMatchObject({
      failureType,
      retryable: true,
      fallback: true,
      code: name,
    });
  });

  it.each([
    ['ValidationException', 'Inference.InvalidRequest'],
    ['AccessDeniedException', 'Inference.AccessDenied'],
    ['ResourceNotFoundException', 'Inference.InvalidRequest'],
    ['ServiceQuotaExceededException', 'Inference.RateLimited'],
  ])('does not retry %s (%s) but lets another route try', (name, failureType) => {
    expect(classifyBedrockError({ name, httpStatus: 400 })).toMatchObject({
      failureType,
      retryable: false,
      fallback: true,
    });
  });

  it('reads transport failures by their code', () => {
    expect(classifyBedrockError({ name: 'ECONNRESET' })).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
    });
    expect(classifyBedrockError({ name: 'TimeoutError' })).toMatchObject({
      failureType: 'Inference.Timeout',
      retryable: true,
    });
    expect(classifyBedrockError({ name: 'SyntaxError', httpStatus: 200 })).toMatchObject({
      failureType: 'Inference.MalformedResponse',
      retryable: true,
    });
  });

  it('falls back to the status table for an unknown name, and to a retryable unknown without one', () => {
    expect(classifyBedrockError({ name: 'BrandNewException', httpStatus: 403 })).toMatchObject({
      failureType: 'Inference.AccessDenied',
      retryable: false,
      code: 'BrandNewException',
    });
    expect(classifyBedrockError({ name: 'BrandNewException', httpStatus: 502 })).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
    });
    expect(classifyBedrockError({ name: 'Mystery' })).toEqual({
      failureType: 'Inference.Unknown',
      retryable: true,
      fallback: true,
      code: 'Mystery',
    });
  });

  it('uses only the dotted inference failure types', () => {
    for (const decision of [...Object.values(BEDROCK_EXCEPTION_TABLE), ...Object.values(HTTP_STATUS_TABLE)]) {
      expect(KNOWN_TYPES).toContain(decision.failureType);
      expect(decision.failureType).toMatch(/^Inference\.[A-Z][A-Za-z]+$/);
    }
  });
});

describe('classifyHttpStatus', () => {
  it.each([408, 409, 429, 500, 502, 503, 504, 599])('retries %i', (status) => {
    expect(classifyHttpStatus(status).retryable).toBe(true);
  });

  it.each([400, 401, 403, 404, 422, 418])('does not retry %i', (status) => {
    expect(classifyHttpStatus(status).retryable).toBe(false);
  });

  it('maps 429 to Inference.RateLimited with the Retry-After delay and the status as code', () => {
    expect(classifyHttpStatus(429, 1500)).toEqual({
      failureType: 'Inference.RateLimited',
      retryable: true,
      fallback: true,
      nextRetryDelayMs: 1500,
      code: '429',
    });
    expect(classifyHttpStatus(401).failureType).toBe('Inference.AccessDenied');
    expect(classifyHttpStatus(429)).not.toHaveProperty('nextRetryDelayMs');
  });
});

describe('client-side and transport failures', () => {
  it('never retries nor falls back once a stream delivered text', () => {
    expect(classifyClientSideFailure('streamInterrupted', 'ThrottlingException')).toEqual({
      failureType: 'Inference.StreamInterrupted',
      retryable: false,
      fallback: false,
      code: 'ThrottlingException',
    });
  });

  it('retries a malformed response and treats unknown transport codes as unreachable', () => {
    expect(classifyClientSideFailure('malformedResponse', 'InvalidBody')).toMatchObject({
      failureType: 'Inference.MalformedResponse',
      retryable: true,
    });
    expect(classifyClientSideFailure('invalidRoute', 'MissingEndpoint')).toMatchObject({
      retryable: false,
      fallback: true,
    });
    expect(classifyTransportError('ECONNREFUSED')).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
    });
    expect(classifyTransportError('UND_ERR_SOMETHING_NEW')).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');

  it('reads delay-seconds, including fractions', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0.5 ', now)).toBe(500);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP-date relative to now and never goes negative', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
