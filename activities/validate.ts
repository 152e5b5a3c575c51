import type { OutputValidation } from '../domain/step-contracts';
import { validateOutput } from '../governance/validate-output';

/** Step 8. Non-empty, citations within the retrieved documents, and the requested JSON schema. */
export function createValidateActivity() {
  return async function validate(input: {
    text: string;
    citedDocumentIds: string[];
    retrievedDocumentIds: string[];
    outputSchema?: Record<string, unknown>;
  }): Promise<OutputValidation> {
    return validateOutput(input);
  };
}
