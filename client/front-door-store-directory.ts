import type { Knex } from 'knex';
import { policyDocumentSchema } from '../domain/policy';
import type { RouteTable } from '../domain/route-table';
import type { FrontDoorDirectory } from '../frontdoor/front-door-directory';
import { taskModelsFor } from '../frontdoor/task-models';
import { getLatestPolicy } from '../store/policy-repository';
import { findPrincipalByApiKey } from '../store/principal-repository';
import { getTenant } from '../store/tenant-repository';

/**
 * The front door's view of the app database: API keys → principals (across tenants; key ids are unique),
 * and each principal's task types with the routes its tenant may use.
 */
export function createStoreDirectory(db: Knex, routeTable: RouteTable): FrontDoorDirectory {
  return {
    async findKeyHolder(apiKey) {
      const principal = await findPrincipalByApiKey(db, apiKey);
      if (!principal || principal.status !== 'active') return undefined;
      const tenant = await getTenant(db, principal.tenantId);
      return {
        principalId: principal.id,
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        capabilities: principal.capabilities,
        tenantActive: tenant?.status === 'active',
        key: principal.key,
      };
    },
    async taskModels(holder) {
      const [tenant, policy] = await Promise.all([
        getTenant(db, holder.tenantId),
        getLatestPolicy(db, holder.tenantId),
      ]);
      // Without a valid policy every request is denied in `authorize`: there is nothing to offer.
      const document = policyDocumentSchema.safeParse(policy?.document);
      if (!tenant || !document.success) return [];
      return taskModelsFor(holder.capabilities, routeTable, {
        allowedRoutes: document.data.allowedRoutes,
        tenantTier: tenant.tier,
        allowDegraded: document.data.allowDegradedRoutes,
      });
    },
  };
}
