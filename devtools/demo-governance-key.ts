import {
  ApiKeyError,
  bootstrapGovernanceKey,
  governanceKeysOf,
  type IssuedKey,
} from '../governance/api-keys';
import type { AuditWriter } from '../store/audit-repository';
import { findPrincipalByApiKey } from '../store/principal-repository';
import { DEMO_TENANT_ID } from '../store/seed-demo';
import { saveDemoGovernanceKey, type DemoCredentials } from './demo-credentials';

/** The demo principal that holds the demo tenant's governance key. */
export const DEMO_GOVERNANCE_PRINCIPAL = 'demo-analyst';

export interface DemoGovernanceKey {
  /** `governed elsewhere`: the tenant has governance keys the demo did not make; it makes no other. */
  state: 'kept' | 'bootstrapped' | 'governed elsewhere';
  credentials: DemoCredentials;
}

/**
 * Gives the demo tenant a governance key with no manual step, through the same audited bootstrap an
 * operator uses (`gatehouse keys create --bootstrap`): kept when the saved key still works, bootstrapped
 * when the tenant has never had a governance key, and left alone when it has keys the demo did not make.
 */
export async function ensureDemoGovernanceKey(
  writer: AuditWriter,
  dataDir: string,
  credentials: DemoCredentials,
): Promise<DemoGovernanceKey> {
  const saved = credentials.governanceApiKey;
  if (saved !== undefined && (await findPrincipalByApiKey(writer.db, saved, DEMO_TENANT_ID)) !== undefined) {
    return { state: 'kept', credentials };
  }
  if ((await governanceKeysOf(writer.db, DEMO_TENANT_ID)).length > 0) {
    return { state: 'governed elsewhere', credentials };
  }
  let issued: IssuedKey;
  try {
    issued = await bootstrapGovernanceKey(writer, {
      tenantId: DEMO_TENANT_ID,
      principalId: DEMO_GOVERNANCE_PRINCIPAL,
      note: 'demo seed',
    });
  } catch (error) {
    // Another process seeding at the same moment bootstrapped first; its key is the demo's.
    if (error instanceof ApiKeyError) return { state: 'governed elsewhere', credentials };
    throw error;
  }
  return { state: 'bootstrapped', credentials: saveDemoGovernanceKey(dataDir, credentials, issued.secret) };
}
