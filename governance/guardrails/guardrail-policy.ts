import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { BUILT_IN_ENTITY_TYPES, type TenantPatternRecognizer } from '../redaction';
import { createBedrockGuardrail } from './bedrock-guardrail';
import type { Guardrail } from './guardrail';
import { createLocalGuardrail } from './local-guardrail';

/**
 * The guardrail section of a tenant's policy document. Standalone here so the policy schema can embed
 * it; messages name the field and what it expects.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html#API_runtime_ApplyGuardrail_RequestSyntax
 */
export const guardrailPolicySchema = z
  .object({
    /** When a guardrail cannot answer (after its retries): let the request through, or stop it. */
    onError: z
      .enum(['fail-open', 'fail-closed'], {
        errorMap: () => ({ message: "onError must be 'fail-open' or 'fail-closed'" }),
      })
      .default('fail-closed'),
    bedrock: z
      .object({
        guardrailId: z
          .string()
          .max(2048)
          .regex(
            /^(?:[a-z0-9]+|arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:\d{12}:guardrail\/[a-z0-9]+)$/,
            'guardrailId must be a Bedrock guardrail id (lower-case letters and digits) or its ARN',
          ),
        guardrailVersion: z
          .string()
          .regex(
            /^(?:[1-9]\d{0,7}|DRAFT)$/,
            "guardrailVersion must be 'DRAFT' or a version number such as '1'",
          ),
        region: z
          .string()
          .regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'region must be an AWS region such as eu-central-1')
          .optional(),
        checks: z
          .array(z.enum(['input', 'output']))
          .min(1, "checks must name 'input', 'output' or both")
          .default(['input', 'output']),
      })
      .strict()
      .optional(),
    local: z
      .object({
        deniedTopics: z
          .array(
            z
              .object({
                name: z.string().min(1).max(100),
                phrases: z
                  .array(z.string().trim().min(1).max(100))
                  .min(1, 'a denied topic needs at least one phrase')
                  .max(50),
              })
              .strict(),
          )
          .max(30)
          .default([]),
        deniedWords: z.array(z.string().trim().min(1).max(100)).max(500).default([]),
        piiLeakage: z
          .object({
            action: z.enum(['block', 'anonymize']).default('block'),
            types: z.array(z.enum(BUILT_IN_ENTITY_TYPES)).min(1).optional(),
          })
          .strict()
          .optional(),
        blockedInputMessage: z.string().min(1).max(500).default('This request was blocked by policy.'),
        blockedOutputMessage: z.string().min(1).max(500).default('The answer was withheld by policy.'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type GuardrailPolicy = z.infer<typeof guardrailPolicySchema>;

export interface PolicyGuardrails {
  /** In the order to run them: local first (cheap, no network), then Bedrock. */
  input: Guardrail[];
  output: Guardrail[];
  onError: GuardrailPolicy['onError'];
}

/**
 * The guardrails a tenant's policy asks for. `bedrockClient` (from `createGuardrailClient`, for the
 * policy's region) is required when the policy names a Bedrock guardrail.
 */
export function guardrailsForPolicy(
  policy: GuardrailPolicy,
  dependencies: {
    bedrockClient?: BedrockRuntimeClient;
    tenantPatterns?: readonly TenantPatternRecognizer[];
    timeoutMs?: number;
  } = {},
): PolicyGuardrails {
  const input: Guardrail[] = [];
  const output: Guardrail[] = [];
  if (policy.local) {
    const local = createLocalGuardrail(policy.local, { tenantPatterns: dependencies.tenantPatterns });
    input.push(local);
    output.push(local);
  }
  if (policy.bedrock) {
    if (!dependencies.bedrockClient) {
      throw new Error(
        `the policy names Bedrock guardrail ${policy.bedrock.guardrailId} but no Bedrock client was given`,
      );
    }
    const bedrock = createBedrockGuardrail({
      client: dependencies.bedrockClient,
      guardrailId: policy.bedrock.guardrailId,
      guardrailVersion: policy.bedrock.guardrailVersion,
      timeoutMs: dependencies.timeoutMs,
    });
    if (policy.bedrock.checks.includes('input')) input.push(bedrock);
    if (policy.bedrock.checks.includes('output')) output.push(bedrock);
  }
  return { input, output, onError: policy.onError };
}
