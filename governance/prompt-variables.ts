import { z } from 'zod';

/**
 * A prompt version's variables, described as data (stored with the version, JSON-schema-like) and turned
 * into a zod schema only when a prompt is published or rendered — never at module load in code the
 * workflow imports. Rendering checks the values first, so a template never goes out with a
 * `{{placeholder}}` left in it or a value its author ruled out.
 */

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

export const promptVariableSchema = z
  .object({
    type: z.enum(['string', 'number', 'boolean']).default('string'),
    required: z.boolean().default(true),
    description: z.string().max(500).optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(1).optional(),
    enum: z.array(z.string()).min(1).optional(),
  })
  .strict();
export const promptVariablesSchema = z
  .record(
    z.string().regex(NAME, 'a variable name is a letter then letters, digits or _'),
    promptVariableSchema,
  )
  .refine((variables) => Object.keys(variables).length <= 50, 'at most 50 variables');
export type PromptVariables = z.infer<typeof promptVariablesSchema>;

/** The values the request path supplies to every template. */
export const BUILT_IN_PROMPT_VARIABLES: PromptVariables = {
  question: { type: 'string', required: true },
  context: { type: 'string', required: true },
};

/** `{{ name }}` placeholders used by a template, in order of first use. */
export function templatePlaceholders(template: string): string[] {
  const names = new Set<string>();
  for (const match of template.matchAll(/\{\{\s*([a-zA-Z][a-zA-Z0-9_]*)\s*\}\}/g))
    names.add(match[1] as string);
  return [...names];
}

function valueSchema(name: string, variable: PromptVariables[string]): z.ZodTypeAny {
  if (variable.type === 'number')
    return z.number({ invalid_type_error: `variable '${name}' must be a number` });
  if (variable.type === 'boolean')
    return z.boolean({ invalid_type_error: `variable '${name}' must be true or false` });
  if (variable.enum) {
    const allowed = variable.enum;
    return z.string().refine((value) => allowed.includes(value), {
      message: `variable '${name}' must be one of: ${allowed.join(', ')}`,
    });
  }
  let text = z.string({ invalid_type_error: `variable '${name}' must be text` });
  if (variable.minLength !== undefined) {
    text = text.min(
      variable.minLength,
      `variable '${name}' must be at least ${variable.minLength} characters`,
    );
  }
  if (variable.maxLength !== undefined) {
    text = text.max(
      variable.maxLength,
      `variable '${name}' must be at most ${variable.maxLength} characters`,
    );
  }
  return text;
}

/** The zod schema of a version's variables, built on demand. */
export function buildVariablesSchema(variables: PromptVariables): z.ZodTypeAny {
  return z
    .object(
      Object.fromEntries(
        Object.entries(variables).map(([name, variable]) => {
          const schema = valueSchema(name, variable);
          return [name, variable.required ? schema : schema.optional()];
        }),
      ),
    )
    .passthrough();
}

export class PromptVariablesError extends Error {
  override readonly name = 'PromptVariablesError';
}

/**
 * Checks the values before rendering: every placeholder the templates use must have a value, and every
 * value must satisfy its declaration. Throws PromptVariablesError naming the variable.
 */
export function checkPromptVariables(
  templates: { systemTemplate: string; userTemplate: string; name: string; version: number },
  declared: PromptVariables | undefined,
  values: Record<string, unknown>,
): void {
  const where = `prompt '${templates.name}' version ${templates.version}`;
  for (const placeholder of templatePlaceholders(`${templates.systemTemplate}\n${templates.userTemplate}`)) {
    // Own values only: `{{toString}}` must not be filled from Object.prototype.
    if (!Object.hasOwn(values, placeholder) || values[placeholder] === undefined) {
      throw new PromptVariablesError(
        `${where} uses variable '${placeholder}', which is missing (supplied: ${Object.keys(values).join(', ')})`,
      );
    }
  }
  if (declared === undefined) return;
  const parsed = buildVariablesSchema(declared).safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? '?');
    const message =
      issue?.code === 'invalid_type' && issue.received === 'undefined'
        ? `variable '${name}' is required but missing`
        : (issue?.message ?? 'invalid');
    throw new PromptVariablesError(`${where}: ${message}`);
  }
}

/**
 * A version about to be published: every placeholder must be declared (when it declares variables) and
 * supplied by the request path, and it may declare only variables the request path supplies. Returns
 * the problems, empty when it may be published.
 */
export function publishProblems(
  templates: { systemTemplate: string; userTemplate: string },
  declared: PromptVariables | undefined,
): string[] {
  const supplied = Object.keys(BUILT_IN_PROMPT_VARIABLES);
  const problems: string[] = [];
  for (const placeholder of templatePlaceholders(`${templates.systemTemplate}\n${templates.userTemplate}`)) {
    if (!supplied.includes(placeholder)) {
      problems.push(
        `the template uses {{${placeholder}}}, which requests do not supply (they supply ${supplied.join(', ')})`,
      );
    } else if (declared !== undefined && !(placeholder in declared)) {
      problems.push(
        `the template uses {{${placeholder}}} but variables do not declare it (declared: ${Object.keys(declared).join(', ') || 'none'})`,
      );
    }
  }
  for (const name of Object.keys(declared ?? {})) {
    if (!supplied.includes(name)) {
      problems.push(
        `variables declare '${name}', which requests do not supply (they supply ${supplied.join(', ')})`,
      );
    }
  }
  return problems;
}
