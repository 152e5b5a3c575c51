import type { Knex } from 'knex';
import {
  reserveBudget,
  setBudget,
  settleRun,
  type ReserveBudgetInput,
  type ReserveBudgetResult,
} from '../../store/budget-repository';
import { upsertTenant } from '../../store/tenant-repository';

/** Active tenants, each with a budget of `limitMicroUsd`. */
export async function seedBudgetTenants(
  db: Knex,
  ids: readonly string[],
  limitMicroUsd: number,
): Promise<void> {
  for (const id of ids) {
    await upsertTenant(db, { id, name: id, status: 'active', tier: 'team' });
    await setBudget(db, { tenantId: id, limitMicroUsd });
  }
}

/**
 * `reserve(tenantId, overrides)`: a slot-1 reservation of a run of its own (`gatehouse/<tenant>/r<n>`,
 * `run-<n>`, n counting up from 1), with `defaults` for the rest; `sequence()` is the last n used.
 */
export function reservations(
  db: () => Knex,
  defaults: Pick<ReserveBudgetInput, 'amountMicroUsd' | 'expiresAt'> & Partial<ReserveBudgetInput>,
): {
  reserve: (tenantId: string, input?: Partial<ReserveBudgetInput>) => Promise<ReserveBudgetResult>;
  sequence: () => number;
} {
  let sequence = 0;
  return {
    reserve: (tenantId, input = {}) => {
      sequence += 1;
      return reserveBudget(db(), {
        tenantId,
        workflowId: `gatehouse/${tenantId}/r${sequence}`,
        runId: `run-${sequence}`,
        slot: 1,
        ...defaults,
        ...input,
      });
    },
    sequence: () => sequence,
  };
}

/** Settles one run in a transaction of its own. */
export function settle(db: Knex, input: Parameters<typeof settleRun>[1]) {
  return db.transaction((trx) => settleRun(trx, input));
}
