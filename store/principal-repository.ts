import { sha256Hex } from '../governance/sha256';
import type { Knex } from 'knex';
import type { DataClassification } from './document-repository';
import { nowIso } from './knex-client';

export type PrincipalRole = 'requester' | 'approver' | 'admin';
export type PrincipalStatus = 'active' | 'disabled';

export interface Principal {
  id: string;
  tenantId: string;
  name: string;
  /** Task types this principal may request (e.g. `qa`, `summarize`). */
  capabilities: string[];
  /** ACL groups used by the retrieval permission filter. */
  groups: string[];
  clearance: DataClassification;
  role: PrincipalRole;
  status: PrincipalStatus;
}

export interface UpsertPrincipalInput extends Principal {
  /** `hashApiKey(rawKey)`: raw keys are never stored. */
  apiKeyHash: string;
}

interface PrincipalRow {
  id: string;
  tenant_id: string;
  name: string;
  capabilities: string;
  groups: string;
  clearance: DataClassification;
  role: PrincipalRole;
  status: PrincipalStatus;
}

/** SHA-256 hex of a raw API key — the only form in which keys reach the database. */
export function hashApiKey(rawKey: string): string {
  return sha256Hex(rawKey);
}

/** Looks a caller up by key hash, scoped to the tenant it claims, so a key never crosses tenants. */
export async function findPrincipalByKeyHash(
  db: Knex,
  tenantId: string,
  apiKeyHash: string,
): Promise<Principal | undefined> {
  const row = (await db('principals').where({ tenant_id: tenantId, api_key_hash: apiKeyHash }).first()) as
    PrincipalRow | undefined;
  return row === undefined ? undefined : toPrincipal(row);
}

export async function upsertPrincipal(db: Knex, input: UpsertPrincipalInput): Promise<Principal> {
  const row = {
    id: input.id,
    tenant_id: input.tenantId,
    name: input.name,
    api_key_hash: input.apiKeyHash,
    capabilities: JSON.stringify(input.capabilities),
    groups: JSON.stringify(input.groups),
    clearance: input.clearance,
    role: input.role,
    status: input.status,
  };
  await db('principals')
    .insert({ ...row, created_at: nowIso() })
    .onConflict('id')
    .merge(['tenant_id', 'name', 'api_key_hash', 'capabilities', 'groups', 'clearance', 'role', 'status']);
  return toPrincipal(row);
}

function toPrincipal(row: PrincipalRow): Principal {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    capabilities: parseStringArray(row.capabilities),
    groups: parseStringArray(row.groups),
    clearance: row.clearance,
    role: row.role,
    status: row.status,
  };
}

// A malformed column must fail closed (no capabilities, no groups), never grant by accident.
function parseStringArray(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/** Active principals of a tenant holding one of `roles` (e.g. the approvers of restricted work). */
export async function listPrincipalsByRole(
  db: Knex,
  tenantId: string,
  roles: PrincipalRole[],
): Promise<Principal[]> {
  const rows = (await db('principals')
    .where({ tenant_id: tenantId, status: 'active' })
    .whereIn('role', roles)
    .orderBy('id')) as PrincipalRow[];
  return rows.map(toPrincipal);
}

/** The principal with this id, if `apiKeyHash` is really its key. */
export async function findPrincipalByIdAndKeyHash(
  db: Knex,
  tenantId: string,
  principalId: string,
  apiKeyHash: string,
): Promise<Principal | undefined> {
  const row = (await db('principals')
    .where({ tenant_id: tenantId, id: principalId, api_key_hash: apiKeyHash })
    .first()) as PrincipalRow | undefined;
  return row === undefined ? undefined : toPrincipal(row);
}
