import type { Knex } from 'knex';
import { usdToMicro } from '../domain/cost';
import { setBudget } from '../store/budget-repository';
import type { AuditWriter } from '../store/audit-repository';
import { getLatestPolicy, listPolicyVersions, putPolicy } from '../store/policy-repository';
import { DEFAULT_PROMPT_LABEL, resolvePrompt } from '../store/prompt-repository';
import { canonicalJson } from './canonical-json';
import {
  attestGovernanceChanges,
  governanceAttributions,
  policyContentHash,
  type GovernanceActor,
  type GovernanceChange,
} from './governance-attestation';
import { diffLines, formatLineDiff } from './line-diff';
import { fromStoredPolicy, renderPolicyFile, toStoredPolicy, type PolicyFile } from './policy-file';

/** The file cannot be applied to this tenant: another tenant's file, or prompts the tenant lacks. */
export class PolicyNotApplicableError extends Error {
  override readonly name = 'PolicyNotApplicableError';
}

/** Every task's prompt must resolve in the tenant's registry, or its requests would all fail. */
async function assertPromptsExist(db: Knex, tenantId: string, policy: PolicyFile): Promise<void> {
  const missing: string[] = [];
  for (const [task, entry] of Object.entries(policy.taskTypes)) {
    if (!entry.prompt) continue;
    const found = await resolvePrompt(db, { tenantId, ...entry.prompt });
    if (!found) {
      const which =
        entry.prompt.version === undefined
          ? `label '${entry.prompt.label ?? DEFAULT_PROMPT_LABEL}'`
          : `version ${entry.prompt.version}`;
      missing.push(
        `taskTypes.${task}.prompt: prompt '${entry.prompt.name}' ${which} does not exist for '${tenantId}'`,
      );
    }
  }
  if (missing.length > 0) {
    throw new PolicyNotApplicableError(
      `${missing.join('; ')} (publish and promote it first: gatehouse prompts)`,
    );
  }
}

export interface AppliedPolicy {
  version: number;
  /** False when the file says exactly what the active version says: nothing new was written. */
  created: boolean;
  contentHash: string;
  /** The budget limit the file set, in micro-USD. */
  budgetLimitMicroUsd?: number;
  /** What the `governance.changed` event recorded (empty when nothing changed). */
  changes: GovernanceChange[];
}

function assertTenant(policy: PolicyFile, tenantId: string): void {
  if (policy.tenant !== undefined && policy.tenant !== tenantId) {
    throw new PolicyNotApplicableError(
      `the file is the policy of tenant '${policy.tenant}', not '${tenantId}' (--tenant)`,
    );
  }
}

/**
 * Publishes a validated policy file as the tenant's next immutable version, applies its budget limit,
 * and records both in the audit chain as one `governance.changed` event by `actor` (the principal and key
 * the caller authenticated with). Applying the same content again changes nothing and appends nothing.
 */
export async function applyPolicy(
  writer: AuditWriter,
  input: { tenantId: string; actor: GovernanceActor; policy: PolicyFile },
): Promise<AppliedPolicy> {
  assertTenant(input.policy, input.tenantId);
  await assertPromptsExist(writer.db, input.tenantId, input.policy);
  const stored = toStoredPolicy(input.policy);
  const serialized = canonicalJson(stored);
  const active = await getLatestPolicy(writer.db, input.tenantId);
  const unchanged = active !== undefined && canonicalJson(active.document) === serialized;
  const version = unchanged ? active.version : await putPolicy(writer.db, input.tenantId, stored);
  const limitUsd = input.policy.budgets?.limitUsd;
  const budgetLimitMicroUsd = limitUsd === undefined ? undefined : usdToMicro(limitUsd);
  if (budgetLimitMicroUsd !== undefined) {
    await setBudget(writer.db, { tenantId: input.tenantId, limitMicroUsd: budgetLimitMicroUsd });
  }
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.actor);
  return {
    version,
    created: !unchanged,
    contentHash: policyContentHash(serialized),
    ...(budgetLimitMicroUsd === undefined ? {} : { budgetLimitMicroUsd }),
    changes,
  };
}

/**
 * The file against the tenant's active version, both rendered in file shape, as a line diff ('' when
 * they say the same). A tenant without a policy yet is diffed against an empty file.
 */
export async function diffPolicy(
  db: Knex,
  input: { tenantId: string; policy: PolicyFile },
): Promise<{ activeVersion?: number; diff: string }> {
  assertTenant(input.policy, input.tenantId);
  const active = await getLatestPolicy(db, input.tenantId);
  const before = active === undefined ? '' : renderPolicyFile(fromStoredPolicy(active.document));
  const after = renderPolicyFile(fromStoredPolicy(toStoredPolicy(input.policy)));
  return {
    ...(active === undefined ? {} : { activeVersion: active.version }),
    diff: formatLineDiff(diffLines(before, after)),
  };
}

export interface PolicyHistoryEntry {
  version: number;
  createdAt: string;
  contentHash: string;
  /** Who the audit chain says published the version; undefined for versions it never recorded. */
  author?: string;
  /** The API key the author presented, when the version was applied with one. */
  authorKeyId?: string;
  /** A note the author added (`--note`), recorded beside the author, not as it. */
  note?: string;
  /** Whether the stored content still has the hash the chain recorded. */
  matchesAudit: boolean | undefined;
  active: boolean;
}

/** Every version, newest first, with its author and content hash from the audit chain. */
export async function policyHistory(db: Knex, tenantId: string): Promise<PolicyHistoryEntry[]> {
  const [versions, attributions] = await Promise.all([
    listPolicyVersions(db, tenantId),
    governanceAttributions(db, tenantId),
  ]);
  const latest = versions.at(-1)?.version;
  return versions.reverse().map((row) => {
    const contentHash = policyContentHash(row.serialized);
    const audited = attributions.get(`policy@${row.version}`);
    return {
      version: row.version,
      createdAt: row.createdAt,
      contentHash,
      ...(audited === undefined ? {} : { author: audited.author }),
      ...(audited?.authorKeyId === undefined ? {} : { authorKeyId: audited.authorKeyId }),
      ...(audited?.note === undefined ? {} : { note: audited.note }),
      matchesAudit: audited === undefined ? undefined : audited.contentHash === contentHash,
      active: row.version === latest,
    };
  });
}
