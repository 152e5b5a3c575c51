import { isMap, isScalar, isSeq, stringify } from 'yaml';
import { describeIssue, formatFieldPath, lineOf } from './policy-file-messages';
import { z } from 'zod';
import { DATA_CLASSES, dataClassSchema, type DataClass } from '../domain/data-class';
import { RETRIEVAL_RANKINGS, retrievalSourceSchema } from '../domain/retrieval-policy';
import { promptReferenceSchema } from '../domain/request-contract';
import { guardrailPolicySchema } from './guardrails/guardrail-policy';
import { requestRedactionSchema } from './policy-controls';
import { readYamlFile } from './yaml-file';

/**
 * A tenant's policy as a person writes it (YAML or JSON), versioned like code: `gatehouse policy
 * validate | apply | diff | history`. `toStoredPolicy` turns it into the document `domain/policy.ts`
 * evaluates (the same fields the request path has always read, plus the task, role and per-class route
 * sections it now also enforces); `fromStoredPolicy` turns any stored version back into this shape, so
 * a file can be compared with the active version line by line.
 */

const PRINCIPAL_ROLES = ['requester', 'approver', 'admin'] as const;

/**
 * Limits far above any real policy (a few kilobytes, tens of task types) that keep a generated or
 * mistaken file from holding the CLI: the size is checked before the file is parsed, and a file with
 * thousands of problems reports the first ones (each is located in the file, which costs a search).
 */
export const POLICY_FILE_LIMITS = {
  bytes: 1024 * 1024,
  taskTypes: 10_000,
  routedTaskTypes: 10_000,
  problemsShown: 100,
} as const;

const taskTypeName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a task type name (lower-case letters, digits, dashes)');

/** A zod refinement: a mapping of at most `limit` keys, or a message that names its count and the limit. */
function keysAtMost(limit: number, what: string) {
  return [
    (mapping: object) => Object.keys(mapping).length <= limit,
    (mapping: object) => ({ message: `${Object.keys(mapping).length} ${what}, over the limit of ${limit}` }),
  ] as const;
}

/** Names for a message: all of a short list, the first few of a long one (a message per problem repeats it). */
function listNames(names: Iterable<string>, shown = 20): string {
  const all = [...names];
  const listed = all.slice(0, shown).join(', ');
  return all.length > shown ? `${listed} and ${all.length - shown} more` : listed;
}

/** What the file may say, with no defaults filled in: a stored version renders back as it was written. */
function policyFileSchema(knownRoutes: readonly string[] | undefined) {
  const routeId = z.string().superRefine((id, context) => {
    if (knownRoutes !== undefined && !knownRoutes.includes(id)) {
      context.addIssue({
        code: 'custom',
        message: `unknown route "${id}" (known: ${knownRoutes.join(', ')})`,
      });
    }
  });
  const routesPerClass = z
    .object(
      Object.fromEntries(DATA_CLASSES.map((dataClass) => [dataClass, z.array(routeId).min(1).optional()])),
    )
    .strict() as z.ZodType<Partial<Record<DataClass, string[]>>>;
  return z
    .object({
      /** When present it must be the tenant the file is applied to: a file cannot land on the wrong tenant. */
      tenant: z.string().min(1).optional(),
      dataClasses: z
        .object({
          allowed: z.array(dataClassSchema).min(1),
          /** Every request is treated as at least this sensitive, whatever it declares. */
          floor: dataClassSchema.optional(),
        })
        .strict(),
      /** Task types (capabilities) this tenant runs, each with the prompt it uses by default. */
      taskTypes: z
        .record(taskTypeName, z.object({ prompt: promptReferenceSchema.optional() }).strict())
        .refine((tasks) => Object.keys(tasks).length > 0, 'expected at least one task type')
        .refine(...keysAtMost(POLICY_FILE_LIMITS.taskTypes, 'task types')),
      /** Principal role → the task types principals of that role may run (on top of their own grants). */
      roles: z
        .object(Object.fromEntries(PRINCIPAL_ROLES.map((role) => [role, z.array(z.string()).optional()])))
        .strict()
        .optional() as z.ZodType<Partial<Record<(typeof PRINCIPAL_ROLES)[number], string[]>> | undefined>,
      /** Task type (or `default` for every other) → data class → the routes it may use, in no order. */
      routes: z
        .record(z.string(), routesPerClass)
        .refine(...keysAtMost(POLICY_FILE_LIMITS.routedTaskTypes, 'task types with routes'))
        .optional(),
      retrieval: z
        .object({
          enabled: z.boolean().optional(),
          topK: z.number().int().min(1).max(50).optional(),
          contextTokenBudget: z.number().int().min(0).max(200_000).optional(),
          tasks: z
            .record(taskTypeName, z.enum(['always', 'auto', 'never']))
            .refine(...keysAtMost(POLICY_FILE_LIMITS.taskTypes, 'task types with a retrieval mode'))
            .optional(),
          source: retrievalSourceSchema.optional(),
          ranking: z.enum(RETRIEVAL_RANKINGS).optional(),
        })
        .strict()
        .optional(),
      logging: z.enum(['full', 'redacted', 'hash']).optional(),
      auditRetentionDays: z.number().int().min(1).max(36_500).optional(),
      maxOutputTokens: z.number().int().positive().max(32_000).optional(),
      allowDegradedRoutes: z.boolean().optional(),
      maxCostPerRequestUsd: z.number().positive().optional(),
      redaction: z.unknown().optional(),
      guardrails: z.unknown().optional(),
      approval: z
        .object({
          requiredForDataClasses: z.array(dataClassSchema).optional(),
          approverRoles: z
            .array(z.enum(['approver', 'admin']))
            .min(1)
            .optional(),
          timeoutSeconds: z
            .number()
            .int()
            .min(1)
            .max(7 * 24 * 3600)
            .optional(),
        })
        .strict()
        .optional(),
      /** The tenant's spending limit, applied to the budget store when the policy is applied. */
      budgets: z
        .object({ limitUsd: z.number().min(0).max(1_000_000_000) })
        .strict()
        .optional(),
    })
    .strict()
    .superRefine((file, context) => {
      const tasks = new Set(Object.keys(file.taskTypes));
      for (const [role, capabilities] of Object.entries(file.roles ?? {})) {
        for (const [index, capability] of (capabilities ?? []).entries()) {
          if (!tasks.has(capability)) {
            context.addIssue({
              code: 'custom',
              path: ['roles', role, index],
              message: `unknown capability "${capability}" (known task types: ${listNames(tasks)})`,
            });
          }
        }
      }
      for (const task of Object.keys(file.routes ?? {})) {
        if (task !== 'default' && !tasks.has(task)) {
          context.addIssue({
            code: 'custom',
            path: ['routes', task],
            message: `unknown task type "${task}" (known: default, ${listNames(tasks)})`,
          });
        }
      }
      const embedded: Array<[string, z.ZodTypeAny, unknown]> = [
        ['redaction', requestRedactionSchema, file.redaction],
        ['guardrails', guardrailPolicySchema, file.guardrails],
      ];
      for (const [section, schema, value] of embedded) {
        if (value === undefined) continue;
        const parsed = schema.safeParse(value);
        if (parsed.success) continue;
        for (const issue of parsed.error.issues)
          context.addIssue({ ...issue, path: [section, ...issue.path] });
      }
    });
}

export type PolicyFile = z.infer<ReturnType<typeof policyFileSchema>>;

export type PolicyFileParse = { ok: true; policy: PolicyFile } | { ok: false; problems: string[] };

/**
 * Parses and validates a policy file. A file over `POLICY_FILE_LIMITS.bytes` is refused unparsed; YAML
 * syntax errors and duplicate keys say their line; every field problem names the field by its path
 * (with its line) and says what was expected. `knownRoutes` (the route table's ids) makes an unknown
 * route an error; without it routes are not checked.
 */
export function parsePolicyFile(
  text: string,
  fileName: string,
  options: { knownRoutes?: readonly string[] } = {},
): PolicyFileParse {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_FILE_LIMITS.bytes) {
    return {
      ok: false,
      problems: [
        `${fileName}: the file is ${bytes} bytes, over the ${POLICY_FILE_LIMITS.bytes}-byte limit for a policy file`,
      ],
    };
  }
  const read = readYamlFile(text, fileName);
  if (!read.ok) return read;
  const { document, lines, value: input } = read;
  if (!isMap(document.contents)) {
    const got = isSeq(document.contents)
      ? 'a list'
      : isScalar(document.contents)
        ? 'a single value'
        : 'nothing';
    return { ok: false, problems: [`${fileName}: expected a mapping of policy sections, got ${got}`] };
  }
  const parsed = policyFileSchema(options.knownRoutes).safeParse(input);
  if (parsed.success) return { ok: true, policy: parsed.data };
  const { issues } = parsed.error;
  const shown = issues.slice(0, POLICY_FILE_LIMITS.problemsShown).map((issue) => {
    const line = lineOf(document, lines, issue.path);
    const field = formatFieldPath(issue.path) || '(top level)';
    return `${fileName}${line === undefined ? '' : `:${line}`}: ${field}: ${describeIssue(issue, input)}`;
  });
  const more = issues.length - shown.length;
  return { ok: false, problems: more > 0 ? [...shown, `${fileName}: and ${more} more problems`] : shown };
}

/** The stored document the request path evaluates (domain/policy.ts `policyDocumentSchema`). */
export function toStoredPolicy(file: PolicyFile): Record<string, unknown> {
  const routes = file.routes;
  const allowedRoutes =
    routes === undefined
      ? null
      : [...new Set(Object.values(routes).flatMap((perClass) => Object.values(perClass).flat()))].sort();
  const taskPrompts = Object.fromEntries(
    Object.entries(file.taskTypes).flatMap(([task, entry]) => (entry.prompt ? [[task, entry.prompt]] : [])),
  );
  const stored: Record<string, unknown> = {
    ...(file.tenant === undefined ? {} : { tenant: file.tenant }),
    allowedDataClasses: file.dataClasses.allowed,
    ...(file.dataClasses.floor === undefined ? {} : { dataClassFloor: file.dataClasses.floor }),
    taskTypes: Object.keys(file.taskTypes),
    taskPrompts,
    ...(file.roles === undefined ? {} : { roles: file.roles }),
    allowedRoutes,
    ...(routes === undefined ? {} : { taskRoutes: routes }),
  };
  for (const key of SAME_IN_BOTH_SHAPES) if (file[key] !== undefined) stored[key] = file[key];
  return stored;
}

/** Sections a policy file and a stored policy write the same way. */
const SAME_IN_BOTH_SHAPES = [
  'retrieval',
  'logging',
  'auditRetentionDays',
  'maxOutputTokens',
  'allowDegradedRoutes',
  'maxCostPerRequestUsd',
  'redaction',
  'guardrails',
  'approval',
  'budgets',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Any stored version back in file shape. Versions written before policy files existed have no task or
 * per-class route sections: their task types come from `taskPrompts`, and a tenant-wide `allowedRoutes`
 * becomes `routes.default` for every allowed class, which the request path treats the same way.
 */
export function fromStoredPolicy(document: unknown): Record<string, unknown> {
  const stored = isRecord(document) ? document : {};
  const allowed = Array.isArray(stored.allowedDataClasses) ? (stored.allowedDataClasses as string[]) : [];
  const prompts = isRecord(stored.taskPrompts) ? stored.taskPrompts : {};
  const taskNames = Array.isArray(stored.taskTypes) ? (stored.taskTypes as string[]) : Object.keys(prompts);
  const taskTypes = Object.fromEntries(
    taskNames.map((task) => [task, prompts[task] === undefined ? {} : { prompt: prompts[task] }]),
  );
  const routes = isRecord(stored.taskRoutes)
    ? stored.taskRoutes
    : Array.isArray(stored.allowedRoutes)
      ? { default: Object.fromEntries(allowed.map((dataClass) => [dataClass, stored.allowedRoutes])) }
      : undefined;
  const file: Record<string, unknown> = {
    ...(stored.tenant === undefined ? {} : { tenant: stored.tenant }),
    dataClasses: {
      allowed,
      ...(stored.dataClassFloor === undefined ? {} : { floor: stored.dataClassFloor }),
    },
    taskTypes,
    ...(stored.roles === undefined ? {} : { roles: stored.roles }),
    ...(routes === undefined ? {} : { routes }),
  };
  for (const key of SAME_IN_BOTH_SHAPES) if (stored[key] !== undefined) file[key] = stored[key];
  return file;
}

/** The file shape as YAML, sections in a fixed order: what `policy diff` compares line by line. */
export function renderPolicyFile(file: Record<string, unknown>): string {
  // Sections keep their order; inside them keys are sorted, as the stored canonical JSON has them.
  const sorted = Object.fromEntries(Object.entries(file).map(([key, value]) => [key, sortKeysDeep(value)]));
  return stringify(sorted, { lineWidth: 0 });
}

/** A copy with every mapping's keys sorted, as stored canonical JSON has them: for stable renderings. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeysDeep(value[key])]),
  );
}
