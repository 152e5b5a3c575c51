import type { Knex } from 'knex';
import { nowIso, serializeOn, toIsoTimestamp } from './knex-client';

/** The label resolved when a caller names neither a label nor a version. */
export const DEFAULT_PROMPT_LABEL = 'production';

export interface CreatePromptVersionInput {
  tenantId: string;
  name: string;
  systemTemplate: string;
  userTemplate: string;
}

export interface SetPromptLabelInput {
  tenantId: string;
  name: string;
  label: string;
  version: number;
}

export interface ResolvePromptInput {
  tenantId: string;
  name: string;
  label?: string;
  version?: number;
}

export interface ResolvedPrompt {
  name: string;
  version: number;
  systemTemplate: string;
  userTemplate: string;
  /** Present when the version was reached through a label. */
  label?: string;
}

export interface PromptVersionSummary {
  name: string;
  version: number;
  systemTemplate: string;
  userTemplate: string;
  /** Labels currently pointing at this version, sorted. */
  labels: string[];
  createdAt: string;
}

interface PromptTemplateRow {
  tenant_id: string;
  name: string;
  version: number;
  system_template: string;
  user_template: string;
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
    if (
      latest !== undefined &&
      latest.system_template === input.systemTemplate &&
      latest.user_template === input.userTemplate
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
      updated_at: nowIso(),
    })
    .onConflict(['tenant_id', 'name', 'label'])
    .merge(['version', 'updated_at']);
}

/** An explicit version wins; otherwise the label (default `production`) decides. */
export async function resolvePrompt(
  db: Knex,
  input: ResolvePromptInput,
): Promise<ResolvedPrompt | undefined> {
  const base = db('prompt_templates as t').where({
    't.tenant_id': input.tenantId,
    't.name': input.name,
  });
  if (input.version !== undefined) {
    const row = (await base.andWhere('t.version', input.version).first('t.*')) as
      PromptTemplateRow | undefined;
    return row === undefined ? undefined : toResolvedPrompt(row, undefined);
  }
  const label = input.label ?? DEFAULT_PROMPT_LABEL;
  const row = (await base
    .join('prompt_labels as l', function joinLabel() {
      this.on('l.tenant_id', 't.tenant_id').andOn('l.name', 't.name').andOn('l.version', 't.version');
    })
    .andWhere('l.label', label)
    .first('t.*')) as PromptTemplateRow | undefined;
  return row === undefined ? undefined : toResolvedPrompt(row, label);
}

export async function listPrompts(db: Knex, tenantId: string): Promise<PromptVersionSummary[]> {
  const rows = (await db<PromptTemplateRow>('prompt_templates')
    .where({ tenant_id: tenantId })
    .orderBy([{ column: 'name' }, { column: 'version' }])) as PromptTemplateRow[];
  const labels = (await db('prompt_labels').where({ tenant_id: tenantId }).orderBy('label')) as Array<{
    name: string;
    label: string;
    version: number;
  }>;
  return rows.map((row) => ({
    name: row.name,
    version: row.version,
    systemTemplate: row.system_template,
    userTemplate: row.user_template,
    labels: labels
      .filter((entry) => entry.name === row.name && entry.version === row.version)
      .map((entry) => entry.label),
    createdAt: toIsoTimestamp(row.created_at),
  }));
}

function toResolvedPrompt(row: PromptTemplateRow, label: string | undefined): ResolvedPrompt {
  return {
    name: row.name,
    version: row.version,
    systemTemplate: row.system_template,
    userTemplate: row.user_template,
    ...(label === undefined ? {} : { label }),
  };
}
