import type { Knex } from 'knex';
import { takesCanary } from '../domain/prompt-canary';
import { canonicalJson } from '../governance/canonical-json';
import { nowIso, serializeOn, toIsoTimestamp } from './knex-client';

/** The label resolved when a caller names neither a label nor a version. */
export const DEFAULT_PROMPT_LABEL = 'production';
/** The label that takes a share of `production` traffic (`canary_percent`), split by request id. */
export const CANARY_PROMPT_LABEL = 'canary';

export interface CreatePromptVersionInput {
  tenantId: string;
  name: string;
  systemTemplate: string;
  userTemplate: string;
  /** The variables' description (governance/prompt-variables.ts), checked before rendering. */
  variables?: Record<string, unknown> | null;
}

export interface SetPromptLabelInput {
  tenantId: string;
  name: string;
  label: string;
  version: number;
  /** `canary` only: the share (0–100) of `production` requests that take this version. */
  canaryPercent?: number;
}

export interface ResolvePromptInput {
  tenantId: string;
  name: string;
  label?: string;
  version?: number;
  /**
   * The request resolving it: when it resolves `production` and a canary takes a share, the request id
   * decides (deterministically) which of the two versions it gets.
   */
  requestId?: string;
}

export interface ResolvedPrompt {
  name: string;
  version: number;
  systemTemplate: string;
  userTemplate: string;
  variables?: Record<string, unknown>;
  /** Present when the version was reached through a label (`canary` when the split chose it). */
  label?: string;
}

export interface PromptVersionSummary {
  name: string;
  version: number;
  systemTemplate: string;
  userTemplate: string;
  variables?: Record<string, unknown>;
  /** Labels currently pointing at this version, sorted. */
  labels: string[];
  /** Set when the `canary` label points here: its share of `production` traffic. */
  canaryPercent?: number;
  createdAt: string;
}

interface PromptTemplateRow {
  tenant_id: string;
  name: string;
  version: number;
  system_template: string;
  user_template: string;
  variables_schema: string | null;
  created_at: unknown;
}

/**
 * Adds an immutable version (latest + 1). When the latest version already has these exact templates
 * its number is returned instead, so seeding on every start does not mint new versions.
 */
export async function createPromptVersion(db: Knex, input: CreatePromptVersionInput): Promise<number> {
  return db.transaction(async (trx) => {
    await serializeOn(trx, 'prompt_templates', `${input.tenantId}:${input.name}`);
    const latest = (await trx<PromptTemplateRow>('prompt_templates')
      .where({ tenant_id: input.tenantId, name: input.name })
      .orderBy('version', 'desc')
      .first()) as PromptTemplateRow | undefined;
    const variables = input.variables ? canonicalJson(input.variables) : null;
    if (
      latest !== undefined &&
      latest.system_template === input.systemTemplate &&
      latest.user_template === input.userTemplate &&
      (latest.variables_schema ?? null) === variables
    ) {
      return latest.version;
    }
    const version = (latest?.version ?? 0) + 1;
    await trx('prompt_templates').insert({
      tenant_id: input.tenantId,
      name: input.name,
      version,
      system_template: input.systemTemplate,
      user_template: input.userTemplate,
      variables_schema: variables,
      created_at: nowIso(),
    });
    return version;
  });
}

/** Points a label at an existing version (the foreign key rejects versions that do not exist). */
export async function setPromptLabel(db: Knex, input: SetPromptLabelInput): Promise<void> {
  await db('prompt_labels')
    .insert({
      tenant_id: input.tenantId,
      name: input.name,
      label: input.label,
      version: input.version,
      canary_percent: input.canaryPercent ?? null,
      updated_at: nowIso(),
    })
    .onConflict(['tenant_id', 'name', 'label'])
    .merge(['version', 'canary_percent', 'updated_at']);
}

/** An explicit version wins; otherwise the label (default `production`) decides. */
export async function resolvePrompt(
  db: Knex,
  input: ResolvePromptInput,
): Promise<ResolvedPrompt | undefined> {
  return (await resolvePromptAsStored(db, input))?.prompt;
}

/** Labels whose rows decide which version a label reference resolves to: `production` also reads `canary`'s share. */
export function decidingLabels(label: string): string[] {
  const split = [DEFAULT_PROMPT_LABEL, CANARY_PROMPT_LABEL];
  return split.includes(label) ? split : [label];
}

/** A resolved prompt with the rows that decided it, whole and as stored. */
export interface ResolvedPromptAsStored {
  prompt: ResolvedPrompt;
  /** The `prompt_templates` row of the version. */
  template: Readonly<Record<string, unknown>>;
  /** The `prompt_labels` rows of the deciding labels that exist (none for an explicit version). */
  labels: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/**
 * Resolves a prompt as `resolvePrompt` does and returns the rows it decided on, each read once: the
 * deciding label rows (`production` with `canary`, whose share splits it by request id), then the chosen
 * version's template. `assemble-prompt` renders from them and hashes the same rows against the audit chain
 * (docs/decisions/0028).
 */
export async function resolvePromptAsStored(
  db: Knex,
  input: ResolvePromptInput,
): Promise<ResolvedPromptAsStored | undefined> {
  const templateOf = async (version: number | string) =>
    (await db('prompt_templates').where({ tenant_id: input.tenantId, name: input.name, version }).first()) as
      PromptTemplateRow | undefined;
  if (input.version !== undefined) {
    const template = await templateOf(input.version);
    return template === undefined
      ? undefined
      : { prompt: toResolvedPrompt(template, undefined), template: { ...template }, labels: [] };
  }
  const requested = input.label ?? DEFAULT_PROMPT_LABEL;
  const labels = (await db('prompt_labels')
    .where({ tenant_id: input.tenantId, name: input.name })
    .whereIn('label', decidingLabels(requested))) as Array<{
    label: string;
    version: number | string;
    canary_percent: number | string | null;
  }>;
  const rowOf = (label: string) => labels.find((row) => row.label === label);
  const percent = Number(rowOf(CANARY_PROMPT_LABEL)?.canary_percent ?? 0);
  const label =
    requested === DEFAULT_PROMPT_LABEL &&
    input.requestId !== undefined &&
    percent > 0 &&
    takesCanary(percent, input.tenantId, input.name, input.requestId)
      ? CANARY_PROMPT_LABEL
      : requested;
  const chosen = rowOf(label);
  const template = chosen === undefined ? undefined : await templateOf(chosen.version);
  return template === undefined
    ? undefined
    : { prompt: toResolvedPrompt(template, label), template: { ...template }, labels };
}

export async function listPrompts(db: Knex, tenantId: string): Promise<PromptVersionSummary[]> {
  const rows = (await db<PromptTemplateRow>('prompt_templates')
    .where({ tenant_id: tenantId })
    .orderBy([{ column: 'name' }, { column: 'version' }])) as PromptTemplateRow[];
  const labels = (await db('prompt_labels').where({ tenant_id: tenantId }).orderBy('label')) as Array<{
    name: string;
    label: string;
    version: number | string;
    canary_percent: number | string | null;
  }>;
  return rows.map((row) => {
    const own = labels.filter(
      (entry) => entry.name === row.name && Number(entry.version) === Number(row.version),
    );
    const canary = own.find((entry) => entry.label === CANARY_PROMPT_LABEL);
    return {
      ...toPromptTemplate(row),
      labels: own.map((entry) => entry.label),
      ...(canary?.canary_percent == null ? {} : { canaryPercent: Number(canary.canary_percent) }),
      createdAt: toIsoTimestamp(row.created_at),
    };
  });
}

/** A stored version's templates and variables description, however it was reached. */
function toPromptTemplate(row: PromptTemplateRow): Omit<ResolvedPrompt, 'label'> {
  return {
    name: row.name,
    version: Number(row.version),
    systemTemplate: row.system_template,
    userTemplate: row.user_template,
    ...(row.variables_schema
      ? { variables: JSON.parse(row.variables_schema) as Record<string, unknown> }
      : {}),
  };
}

function toResolvedPrompt(row: PromptTemplateRow, label: string | undefined): ResolvedPrompt {
  return { ...toPromptTemplate(row), ...(label === undefined ? {} : { label }) };
}
