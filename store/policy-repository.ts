import type { Knex } from 'knex';
import { canonicalJson } from '../governance/canonical-json';
import { nowIso, serializeOn, toIsoTimestamp } from './knex-client';

export interface StoredPolicy {
  tenantId: string;
  version: number;
  /** Parsed JSON; validating it is the domain's job, not the store's. */
  document: unknown;
  createdAt: string;
}

interface PolicyRow {
  tenant_id: string;
  version: number;
  document: string;
  created_at: unknown;
}

export async function getLatestPolicy(db: Knex, tenantId: string): Promise<StoredPolicy | undefined> {
  return (await getLatestPolicyAsStored(db, tenantId))?.policy;
}

/** The latest policy with its document exactly as stored: the text the audit chain's hash covers. */
export async function getLatestPolicyAsStored(
  db: Knex,
  tenantId: string,
): Promise<{ policy: StoredPolicy; documentText: string } | undefined> {
  const row = (await db<PolicyRow>('policies')
    .where({ tenant_id: tenantId })
    .orderBy('version', 'desc')
    .first()) as PolicyRow | undefined;
  return row === undefined
    ? undefined
    : {
        policy: {
          tenantId: row.tenant_id,
          version: row.version,
          document: JSON.parse(row.document) as unknown,
          createdAt: toIsoTimestamp(row.created_at),
        },
        documentText: row.document,
      };
}

/** Publishes a new immutable policy version (latest + 1) and returns its number. */
export async function putPolicy(db: Knex, tenantId: string, document: unknown): Promise<number> {
  const serialized = canonicalJson(document);
  return db.transaction(async (trx) => {
    await serializeOn(trx, 'policies', tenantId);
    const latest = (await trx('policies')
      .where({ tenant_id: tenantId })
      .max({ version: 'version' })
      .first()) as { version: number | null } | undefined;
    const version = (latest?.version ?? 0) + 1;
    await trx('policies').insert({
      tenant_id: tenantId,
      version,
      document: serialized,
      created_at: nowIso(),
    });
    return version;
  });
}

export interface PolicyVersionRow {
  version: number;
  /** The canonical JSON as stored: what the audit's content hash covers. */
  serialized: string;
  createdAt: string;
}

/** Every version of the tenant's policy, oldest first. */
export async function listPolicyVersions(db: Knex, tenantId: string): Promise<PolicyVersionRow[]> {
  const rows = (await db<PolicyRow>('policies')
    .where({ tenant_id: tenantId })
    .orderBy('version', 'asc')) as PolicyRow[];
  return rows.map((row) => ({
    version: Number(row.version),
    serialized: row.document,
    createdAt: toIsoTimestamp(row.created_at),
  }));
}
