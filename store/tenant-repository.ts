import type { Knex } from 'knex';
import { nowIso, toIsoTimestamp } from './knex-client';

export type TenantStatus = 'active' | 'suspended';

export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  tier: string;
  createdAt: string;
}

export interface UpsertTenantInput {
  id: string;
  name: string;
  status: TenantStatus;
  tier: string;
}

interface TenantRow {
  id: string;
  name: string;
  status: TenantStatus;
  tier: string;
  created_at: unknown;
}

export async function getTenant(db: Knex, id: string): Promise<Tenant | undefined> {
  const row = (await db<TenantRow>('tenants').where({ id }).first()) as TenantRow | undefined;
  return row === undefined
    ? undefined
    : {
        id: row.id,
        name: row.name,
        status: row.status,
        tier: row.tier,
        createdAt: toIsoTimestamp(row.created_at),
      };
}

/** Creates the tenant or updates its name, status and tier; `created_at` keeps its first value. */
export async function upsertTenant(db: Knex, input: UpsertTenantInput): Promise<Tenant> {
  await db('tenants')
    .insert({ id: input.id, name: input.name, status: input.status, tier: input.tier, created_at: nowIso() })
    .onConflict('id')
    .merge(['name', 'status', 'tier']);
  const tenant = await getTenant(db, input.id);
  if (tenant === undefined) throw new Error(`Tenant ${input.id} vanished right after its upsert`);
  return tenant;
}
