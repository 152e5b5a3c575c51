import Ajv, { type ValidateFunction } from 'ajv';
import type { OutputValidation, Verdict } from '../domain/step-contracts';

const ajv = new Ajv({ allErrors: true, strict: false });
/** Compiled schemas kept for reuse; the oldest is dropped past this many, so callers cannot grow it. */
export const MAX_COMPILED_SCHEMAS = 256;
const compiled = new Map<string, ValidateFunction>();

/**
 * Compiles an output schema (cached, least recently used dropped first). Throws with Ajv's message when
 * the schema itself is invalid: the client calls this before a request starts, so the model is never
 * paid for an answer no schema could check.
 */
export function compileOutputSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate) {
    compiled.delete(key);
  } else {
    validate = ajv.compile(schema);
    // Ajv keeps every schema it compiled unless told to forget it.
    ajv.removeSchema(schema);
  }
  compiled.set(key, validate);
  for (const oldest of compiled.keys()) {
    if (compiled.size <= MAX_COMPILED_SCHEMAS) break;
    compiled.delete(oldest);
  }
  return validate;
}

/** How many compiled schemas are cached (for the test that the cache is bounded). */
export function compiledSchemaCount(): number {
  return compiled.size;
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
      validate = compileOutputSchema(options.outputSchema);
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
