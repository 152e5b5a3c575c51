import Ajv, { type ValidateFunction } from 'ajv';
import type { Verdict } from '../domain/step-contracts';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}

export interface OutputValidation {
  passed: boolean;
  verdicts: Verdict[];
  json?: unknown;
}

/**
 * Checks a model's output: it is not empty, it cites only documents the caller was given, and it
 * matches the requested JSON schema when there is one.
 */
export function validateOutput(options: {
  text: string;
  citedDocumentIds: string[];
  retrievedDocumentIds: string[];
  outputSchema?: Record<string, unknown>;
}): OutputValidation {
  const verdicts: Verdict[] = [];
  const nonEmpty = options.text.trim().length > 0;
  verdicts.push({
    check: 'non-empty',
    passed: nonEmpty,
    detail: nonEmpty ? 'output has text' : 'output is empty',
  });

  const allowed = new Set(options.retrievedDocumentIds);
  const stray = options.citedDocumentIds.filter((id) => !allowed.has(id));
  verdicts.push({
    check: 'citations',
    passed: stray.length === 0,
    detail:
      stray.length === 0
        ? `${options.citedDocumentIds.length} citation(s), all among the retrieved documents`
        : `cites documents that were not retrieved: ${stray.join(', ')}`,
  });

  let json: unknown;
  if (options.outputSchema) {
    try {
      json = JSON.parse(options.text);
    } catch (error) {
      verdicts.push({
        check: 'output-schema',
        passed: false,
        detail: `output is not JSON: ${(error as Error).message}`,
      });
      return { passed: false, verdicts };
    }
    let validate: ValidateFunction;
    try {
      validate = compile(options.outputSchema);
    } catch (error) {
      verdicts.push({
        check: 'output-schema',
        passed: false,
        detail: `the output schema is invalid: ${(error as Error).message}`,
      });
      return { passed: false, verdicts };
    }
    const valid = validate(json) as boolean;
    verdicts.push({
      check: 'output-schema',
      passed: valid,
      detail: valid ? 'output matches the schema' : ajv.errorsText(validate.errors, { dataVar: 'output' }),
    });
  }
  return { passed: verdicts.every((verdict) => verdict.passed), verdicts, json };
}
