import { z } from 'zod';
import { BUILT_IN_ENTITY_TYPES } from './entity-types';
import { compileTenantPatterns, tenantPatternSchema } from './tenant-patterns';

/**
 * The redaction section of a tenant's policy document: which built-in types to redact, the tenant's own
 * patterns (each compiled here, so a broken one is reported with its name and the problem), and whether
 * the caller's answer gets the original values back. Where redaction applies (which routes or data
 * classes) belongs to the routing part of the policy.
 */
export const redactionPolicySchema = z
  .object({
    types: z.array(z.enum(BUILT_IN_ENTITY_TYPES)).default([...BUILT_IN_ENTITY_TYPES]),
    tenantPatterns: z
      .array(tenantPatternSchema)
      .default([])
      .superRefine((patterns, context) => {
        const compiled = compileTenantPatterns(patterns);
        if (!compiled.ok)
          for (const message of compiled.problems) context.addIssue({ code: 'custom', message });
      }),
    /** Put the originals back into the caller's answer (the model only ever saw placeholders). */
    restoreResponse: z.boolean().default(true),
  })
  .strict();
export type RedactionPolicy = z.infer<typeof redactionPolicySchema>;
