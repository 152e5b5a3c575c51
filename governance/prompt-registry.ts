import type { Knex } from 'knex';
import { stringify } from 'yaml';
import { z } from 'zod';
import { PROMPT_LABELS, type PromptLabel } from '../domain/prompt-canary';
import type { AuditWriter } from '../store/audit-repository';
import {
  CANARY_PROMPT_LABEL,
  createPromptVersion,
  listPrompts,
  resolvePrompt,
  setPromptLabel,
  type PromptVersionSummary,
} from '../store/prompt-repository';
import { canonicalJson } from './canonical-json';
import {
  attestGovernanceChanges,
  promptContentHash,
  type GovernanceActor,
  type GovernanceChange,
} from './governance-attestation';
import { diffLines, formatLineDiff } from './line-diff';
import { sortKeysDeep } from './policy-file';
import { formatFieldPath } from './policy-file-messages';
import { readYamlFile } from './yaml-file';
import { promptVariablesSchema, publishProblems, type PromptVariables } from './prompt-variables';

/** A prompt version as a person writes it: `system`, `user` and optionally `variables`. */
const promptFileSchema = z
  .object({
    system: z.string().min(1, 'expected the system template'),
    user: z.string().min(1, 'expected the user template'),
    variables: promptVariablesSchema.optional(),
  })
  .strict();
export type PromptFile = z.infer<typeof promptFileSchema>;

export class PromptRegistryError extends Error {
  override readonly name = 'PromptRegistryError';
}

/** Parses a prompt file (YAML or JSON); problems name the line or the field and what was expected. */
export function parsePromptFile(
  text: string,
  fileName: string,
): { ok: true; prompt: PromptFile } | { ok: false; problems: string[] } {
  const read = readYamlFile(text, fileName);
  if (!read.ok) return read;
  const parsed = promptFileSchema.safeParse(read.value);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map(
        (issue) => `${fileName}: ${formatFieldPath(issue.path) || '(top level)'}: ${issue.message}`,
      ),
    };
  }
  const problems = publishProblems(
    { systemTemplate: parsed.data.system, userTemplate: parsed.data.user },
    parsed.data.variables,
  );
  return problems.length > 0
    ? { ok: false, problems: problems.map((problem) => `${fileName}: ${problem}`) }
    : { ok: true, prompt: parsed.data };
}

function hashOf(prompt: { systemTemplate: string; userTemplate: string; variables?: unknown }): string {
  return promptContentHash({
    system_template: prompt.systemTemplate,
    user_template: prompt.userTemplate,
    variables_schema: prompt.variables === undefined ? null : canonicalJson(prompt.variables),
  });
}

export interface PublishedPrompt {
  version: number;
  /** False when the latest version already had exactly this content: no version was added. */
  created: boolean;
  contentHash: string;
  changes: GovernanceChange[];
}

/** Publishes the next immutable version of `name` and records it in the audit chain by `actor`. */
export async function publishPrompt(
  writer: AuditWriter,
  input: { tenantId: string; name: string; actor: GovernanceActor; prompt: PromptFile },
): Promise<PublishedPrompt> {
  const before = (await listPrompts(writer.db, input.tenantId)).filter((entry) => entry.name === input.name);
  const version = await createPromptVersion(writer.db, {
    tenantId: input.tenantId,
    name: input.name,
    systemTemplate: input.prompt.system,
    userTemplate: input.prompt.user,
    variables: input.prompt.variables ?? null,
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.actor);
  return {
    version,
    created: !before.some((entry) => entry.version === version),
    contentHash: hashOf({
      systemTemplate: input.prompt.system,
      userTemplate: input.prompt.user,
      variables: input.prompt.variables,
    }),
    changes,
  };
}

/**
 * Points `label` at a version. `canary` needs the share of `production` requests it takes (0–100, by
 * request id); the other labels take none. Audited by `actor`.
 */
export async function promotePrompt(
  writer: AuditWriter,
  input: {
    tenantId: string;
    name: string;
    version: number;
    label: string;
    percent?: number;
    actor: GovernanceActor;
  },
): Promise<GovernanceChange[]> {
  if (!(PROMPT_LABELS as readonly string[]).includes(input.label)) {
    throw new PromptRegistryError(`label must be one of ${PROMPT_LABELS.join(', ')}, not '${input.label}'`);
  }
  const label = input.label as PromptLabel;
  if (label === CANARY_PROMPT_LABEL) {
    if (
      input.percent === undefined ||
      !Number.isInteger(input.percent) ||
      input.percent < 0 ||
      input.percent > 100
    ) {
      throw new PromptRegistryError(
        'the canary label needs --percent: the whole-number share (0–100) of production requests it takes',
      );
    }
  } else if (input.percent !== undefined) {
    throw new PromptRegistryError(`--percent applies to the canary label only, not '${label}'`);
  }
  const exists = await resolvePrompt(writer.db, {
    tenantId: input.tenantId,
    name: input.name,
    version: input.version,
  });
  if (!exists) {
    throw new PromptRegistryError(
      `prompt '${input.name}' of tenant '${input.tenantId}' has no version ${input.version}`,
    );
  }
  await setPromptLabel(writer.db, {
    tenantId: input.tenantId,
    name: input.name,
    label,
    version: input.version,
    ...(label === CANARY_PROMPT_LABEL ? { canaryPercent: input.percent } : {}),
  });
  return attestGovernanceChanges(writer, input.tenantId, input.actor);
}

export interface PromptListing extends PromptVersionSummary {
  contentHash: string;
}

/** Every version of the tenant's prompts (optionally one name), with content hashes and labels. */
export async function listPromptVersions(
  db: Knex,
  tenantId: string,
  name?: string,
): Promise<PromptListing[]> {
  const versions = await listPrompts(db, tenantId);
  return versions
    .filter((entry) => name === undefined || entry.name === name)
    .map((entry) => ({ ...entry, contentHash: hashOf(entry) }));
}

/** A version as the text `prompts diff` compares: the file shape, in YAML. */
export function renderPrompt(prompt: {
  systemTemplate: string;
  userTemplate: string;
  variables?: unknown;
}): string {
  return stringify(
    {
      system: prompt.systemTemplate,
      user: prompt.userTemplate,
      ...(prompt.variables === undefined
        ? {}
        : { variables: sortKeysDeep(prompt.variables) as PromptVariables }),
    },
    { lineWidth: 0, blockQuote: 'literal' },
  );
}

/** Finds a version by number (`3`) or by label (`production`). */
export async function findPromptVersion(
  db: Knex,
  input: { tenantId: string; name: string; reference: string },
): Promise<PromptListing> {
  const asNumber = /^\d+$/.test(input.reference) ? Number(input.reference) : undefined;
  // One read of the listing: it carries each version's labels, so it answers both kinds of reference.
  const listing = await listPromptVersions(db, input.tenantId, input.name);
  const entry = listing.find((candidate) =>
    asNumber === undefined ? candidate.labels.includes(input.reference) : candidate.version === asNumber,
  );
  if (!entry) {
    throw new PromptRegistryError(
      `prompt '${input.name}' of tenant '${input.tenantId}' has no ${asNumber === undefined ? `label '${input.reference}'` : `version ${asNumber}`}`,
    );
  }
  return entry;
}

/** A line diff between two prompt texts ('' when equal). */
export function diffPrompts(
  before: { systemTemplate: string; userTemplate: string; variables?: unknown },
  after: { systemTemplate: string; userTemplate: string; variables?: unknown },
): string {
  return formatLineDiff(diffLines(renderPrompt(before), renderPrompt(after)));
}
