import {
  ApplyGuardrailCommand,
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  type GuardrailContentBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { classifyBedrockError, parseRetryAfter } from '../../domain/classify-provider-error';
import type { GuardrailAction, GuardrailVerdict } from '../../domain/guardrail-verdict';
import { codeOf, type SdkErrorShape } from '../../providers/map-bedrock-error';
import { GuardrailError, type Guardrail, type GuardrailCheck, type GuardrailCheckOptions } from './guardrail';

export interface GuardrailClientOptions {
  region: string;
  /** A VPC endpoint, or the Bedrock emulator in tests and local runs. */
  endpoint?: string;
  credentials?: BedrockRuntimeClientConfig['credentials'];
}

/**
 * The Bedrock Runtime client guardrails share, built with `maxAttempts: 1`: Temporal owns retries, and
 * the SDK's own would multiply them. Build one per region at the composition root; `destroy()` it there.
 */
export function createGuardrailClient(options: GuardrailClientOptions): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    maxAttempts: 1,
  });
}

export interface BedrockGuardrailOptions {
  /** From `createGuardrailClient` (maxAttempts: 1). */
  client: BedrockRuntimeClient;
  /** The guardrail's id or ARN. */
  guardrailId: string;
  /** `DRAFT` or a published version number such as `3`. */
  guardrailVersion: string;
  /** Gives up on one call after this long; default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Lenient on purpose: only what the verdict needs is checked, and assessments are kept exactly as sent.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html#API_runtime_ApplyGuardrail_ResponseSyntax
 */
const applyGuardrailResponseSchema = z.object({
  action: z.enum(['NONE', 'GUARDRAIL_INTERVENED']),
  actionReason: z.string().optional(),
  outputs: z.array(z.object({ text: z.string().optional() })).default([]),
  assessments: z.array(z.unknown()).default([]),
  usage: z.record(z.unknown()).optional(),
});

/**
 * Where a guardrail assessment lists what it acted on, per policy. An intervention is a block when any
 * detected entry was BLOCKED; a masking when entries were only ANONYMIZED.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_GuardrailAssessment.html
 */
const ASSESSMENT_ENTRY_LISTS: ReadonlyArray<[policy: string, list: string]> = [
  ['topicPolicy', 'topics'],
  ['contentPolicy', 'filters'],
  ['wordPolicy', 'customWords'],
  ['wordPolicy', 'managedWordLists'],
  ['sensitiveInformationPolicy', 'piiEntities'],
  ['sensitiveInformationPolicy', 'regexes'],
  ['contextualGroundingPolicy', 'filters'],
];

function entriesOf(assessment: unknown): Array<{ action?: unknown; detected?: unknown }> {
  const record = (value: unknown): Record<string, unknown> | undefined =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  return ASSESSMENT_ENTRY_LISTS.flatMap(([policy, list]) => {
    const entries = record(record(assessment)?.[policy])?.[list];
    return Array.isArray(entries) ? (entries as Array<{ action?: unknown; detected?: unknown }>) : [];
  });
}

/** What an intervention amounts to. Unrecognised reasons count as a block: the safe reading. */
export function interventionOf(assessments: readonly unknown[]): Exclude<GuardrailAction, 'none'> {
  const actions = new Set(
    assessments
      .flatMap(entriesOf)
      .filter((entry) => entry.detected !== false)
      .map((entry) => entry.action),
  );
  return !actions.has('BLOCKED') && actions.has('ANONYMIZED') ? 'anonymized' : 'blocked';
}

function contentBlocks(request: GuardrailCheck): GuardrailContentBlock[] {
  const blocks: GuardrailContentBlock[] = [];
  for (const source of request.groundingSources ?? []) {
    if (source.trim() !== '') blocks.push({ text: { text: source, qualifiers: ['grounding_source'] } });
  }
  if (request.source === 'output' && request.query?.trim()) {
    blocks.push({ text: { text: request.query, qualifiers: ['query'] } });
  }
  blocks.push({ text: { text: request.text, qualifiers: ['guard_content'] } });
  return blocks;
}

function toGuardrailError(error: unknown, guardrail: string): GuardrailError {
  if (error instanceof GuardrailError) return error;
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? error : {};
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  const rawName = typeof shape.name === 'string' ? shape.name : 'Error';
  // Node system errors name the problem in `code`; a dropped HTTP/2 stream carries it in its cause.
  const name = rawName === 'Error' ? (codeOf(shape.cause) ?? codeOf(shape) ?? rawName) : rawName;
  const httpStatus = shape.$metadata?.httpStatusCode;
  if (shape.$fault === undefined && httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300) {
    return new GuardrailError(
      `${guardrail}: unreadable response: ${message}`,
      guardrail,
      'MalformedResponse',
      true,
    );
  }
  const retryAfterMs = parseRetryAfter(shape.$response?.headers?.['retry-after'], Date.now());
  const classification = classifyBedrockError({ name, httpStatus, retryAfterMs, message });
  return new GuardrailError(
    `${guardrail}: ${name}: ${message}`,
    guardrail,
    name,
    classification.retryable,
    classification.nextRetryDelayMs,
  );
}

/**
 * A Bedrock guardrail applied through ApplyGuardrail with the real AWS SDK. Inputs and outputs go as
 * `guard_content`; retrieved context as `grounding_source` blocks (and, on outputs, the question as
 * `query`) so the guardrail's contextual grounding check can judge the answer against them.
 */
export function createBedrockGuardrail(options: BedrockGuardrailOptions): Guardrail {
  const id = `bedrock:${options.guardrailId}:${options.guardrailVersion}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    id,
    async check(
      request: GuardrailCheck,
      checkOptions: GuardrailCheckOptions = {},
    ): Promise<GuardrailVerdict> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = checkOptions.signal ? AbortSignal.any([checkOptions.signal, timeout]) : timeout;
      let output: unknown;
      try {
        output = await options.client.send(
          new ApplyGuardrailCommand({
            guardrailIdentifier: options.guardrailId,
            guardrailVersion: options.guardrailVersion,
            source: request.source === 'input' ? 'INPUT' : 'OUTPUT',
            content: contentBlocks(request),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (timeout.aborted && !checkOptions.signal?.aborted) {
          throw new GuardrailError(`${id}: no answer within ${timeoutMs} ms`, id, 'TimeoutError', true);
        }
        throw toGuardrailError(error, id);
      }
      const parsed = applyGuardrailResponseSchema.safeParse(output);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new GuardrailError(
          `${id}: unexpected ApplyGuardrail response: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
          id,
          'MalformedResponse',
          true,
        );
      }
      const response = parsed.data;
      const action = response.action === 'NONE' ? 'none' : interventionOf(response.assessments);
      const verdict: GuardrailVerdict = {
        guardrail: id,
        source: request.source,
        action,
        assessments: response.assessments,
      };
      if (action !== 'none') verdict.text = response.outputs.map((item) => item.text ?? '').join('');
      if (response.actionReason !== undefined) verdict.reason = response.actionReason;
      if (response.usage !== undefined) verdict.usage = response.usage;
      return verdict;
    },
  };
}
