import type { Knex } from 'knex';

/** The hashes of a tenant's events `fromSeq`…`toSeq`, without their content (evidence bundles' proofs). */
export async function listAuditChainLinks(
  db: Knex,
  tenantId: string,
  range: { fromSeq: number; toSeq: number },
): Promise<
  Array<{ seq: number; prevHash: string; hash: string; hashVersion: number; hashKeyId: string | null }>
> {
  const rows = (await db('audit_events')
    .where({ tenant_id: tenantId })
    .whereBetween('seq', [range.fromSeq, range.toSeq])
    .orderBy('seq')
    .select('seq', 'prev_hash', 'hash', 'hash_version', 'hash_key_id')) as Array<{
    seq: number | string;
    prev_hash: string;
    hash: string;
    hash_version: number | string;
    hash_key_id: string | null;
  }>;
  return rows.map((row) => ({
    seq: Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    hashVersion: Number(row.hash_version),
    hashKeyId: row.hash_key_id ?? null,
  }));
}
