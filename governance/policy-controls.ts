import { z } from 'zod';
import { dataClassSchema } from '../domain/data-class';
import type { GuardrailControl, RedactionControl } from '../domain/governance-controls';
import { guardrailPolicySchema } from './guardrails/guardrail-policy';
import { redactionPolicySchema } from './redaction/redaction-policy';

/**
 * The `redaction` section of a policy document: what to redact (redactionPolicySchema) and where it
 * applies. Prompts of the listed effective data classes are redacted before they leave for any route but
 * the exempt ones (self-hosted routes whose data never leaves our control).
 */
export const requestRedactionSchema = redactionPolicySchema.extend({
  dataClasses: z
    .array(dataClassSchema)
    .min(1, 'redaction.dataClasses must name at least one data class')
    .default(['confidential', 'restricted']),
  exemptRoutes: z.array(z.string().min(1)).default([]),
});

export type GovernanceControls =
  { ok: true; redaction?: RedactionControl; guardrails?: GuardrailControl } | { ok: false; problem: string };

function describe(section: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const where = [section, ...(issue?.path ?? [])].join('.');
  return `${where}: ${issue?.message ?? 'invalid'}`;
}

/**
 * Validates the redaction and guardrail sections of a tenant's policy document and turns them into the
 * controls the request path carries. A section that does not validate is a problem that names the
 * field, so the authorize step can refuse the request with it.
 */
export function governanceControlsOf(document: unknown): GovernanceControls {
  const sections =
    typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  const controls: Extract<GovernanceControls, { ok: true }> = { ok: true };
  if (sections.redaction !== undefined) {
    const parsed = requestRedactionSchema.safeParse(sections.redaction);
    if (!parsed.success) return { ok: false, problem: describe('redaction', parsed.error) };
    const { dataClasses, exemptRoutes, ...settings } = parsed.data;
    controls.redaction = {
      dataClasses,
      exemptRoutes,
      restoreResponse: settings.restoreResponse,
      settings,
    };
  }
  if (sections.guardrails !== undefined) {
    const parsed = guardrailPolicySchema.safeParse(sections.guardrails);
    if (!parsed.success) return { ok: false, problem: describe('guardrails', parsed.error) };
    const policy = parsed.data;
    const bedrockChecks = policy.bedrock?.checks ?? [];
    controls.guardrails = {
      onError: policy.onError,
      input: policy.local !== undefined || bedrockChecks.includes('input'),
      output: policy.local !== undefined || bedrockChecks.includes('output'),
      remote: policy.bedrock !== undefined,
      settings: policy,
    };
  }
  return controls;
}
