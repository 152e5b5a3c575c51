import type { AttemptRedaction } from '../../domain/governance-controls';
import type { InferenceRequest } from '../../domain/step-contracts';
import type { RedactionMappingPayload } from '../../domain/redaction-mapping-payload';
import { RedactionMapping } from './redaction-mapping';
import { redactionPolicySchema } from './redaction-policy';
import { Redactor, restoreText, type RestoredText } from './redactor';
import { compileTenantPatterns } from './tenant-patterns';

/** A redaction section that stopped validating between authorize and here: never sent unredacted. */
export class RedactionSettingsError extends Error {
  override readonly name = 'RedactionSettingsError';
}

function redactorFor(settings: Record<string, unknown>): Redactor {
  const parsed = redactionPolicySchema.safeParse(settings);
  if (!parsed.success) {
    throw new RedactionSettingsError(
      `the policy's redaction section is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
    );
  }
  const compiled = compileTenantPatterns(parsed.data.tenantPatterns);
  if (!compiled.ok) throw new RedactionSettingsError(compiled.problems.join('; '));
  return new Redactor({ types: parsed.data.types, tenantPatterns: compiled.recognizers });
}

/** A prompt as it may leave for a route whose policy requires redaction (e.g. for a provider's token count). */
export function redactPrompt(
  prompt: InferenceRequest['prompt'],
  settings: Record<string, unknown>,
): InferenceRequest['prompt'] {
  const redactor = redactorFor(settings);
  return { system: redactor.redact(prompt.system).text, user: redactor.redact(prompt.user).text };
}

/**
 * The request as it may leave for the route: system prompt, user prompt, question and retrieved chunks
 * redacted with one redactor, so a value gets the same placeholder wherever it appears. Returns the
 * request unchanged when the policy does not require redaction for this route and data class.
 */
export function redactInferenceRequest(request: InferenceRequest): {
  request: InferenceRequest;
  redaction?: AttemptRedaction;
} {
  if (!request.redaction) return { request };
  const redactor = redactorFor(request.redaction.settings);
  const redact = (text: string) => redactor.redact(text).text;
  const redacted: InferenceRequest = {
    ...request,
    prompt: { system: redact(request.prompt.system), user: redact(request.prompt.user) },
    question: redact(request.question),
    chunks: request.chunks.map((chunk) => ({
      ...chunk,
      title: redact(chunk.title),
      text: redact(chunk.text),
    })),
  };
  return {
    request: redacted,
    redaction: {
      entityCounts: redactor.mapping.countsByType(),
      mapping: redactor.mapping.toEncryptedPayloadOnly(),
    },
  };
}

/** Puts the original values back into a model's answer, from the mapping the infer activity returned. */
export function restoreAnswer(text: string, mapping: RedactionMappingPayload): RestoredText {
  return restoreText(text, RedactionMapping.fromEncryptedPayload(mapping));
}
