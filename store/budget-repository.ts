import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres, nowIso, serializeOn, toIsoTimestamp, toSafeInteger } from './knex-client';

/** All amounts are integer micro-USD (1 USD = 1_000_000). */
export interface Budget {
  tenantId: string;
  limitMicroUsd: number;
  spentMicroUsd: number;
  reservedMicroUsd: number;
  updatedAt: string;
}

export interface SetBudgetInput {
  tenantId: string;
  limitMicroUsd: number;
}

export interface ReserveBudgetInput {
  tenantId: string;
  /** One key per request attempt: reserving again with it returns the same reservation. */
  idempotencyKey: string;
  amountMicroUsd: number;
}

export type ReserveBudgetResult =
  | { admitted: true; reservationId: string; amountMicroUsd: number }
  | {
      admitted: false;
      reason: string;
      limitMicroUsd: number;
      spentMicroUsd: number;
      reservedMicroUsd: number;
    };

export type ReservationState = 'active' | 'settled' | 'released';

export interface FinishedReservation {
  state: 'settled' | 'released';
  idempotencyKey: string;
  reservationId: string;
  tenantId: string;
  amountMicroUsd: number;
  /** What was charged to `spent`; null for a released reservation. */
  settledMicroUsd: number | null;
  /** True only for the call that made the transition; repeats are no-ops reporting the final state. */
  changed: boolean;
  /** True when this call's actual cost exceeded the reservation and was capped at the reserved amount. */
  clamped: boolean;
}

/** Result of settle/release: `none` when the key never reserved anything. */
export type ReservationOutcome = FinishedReservation | { state: 'none'; idempotencyKey: string };

interface BudgetRow {
  tenant_id: string;
  limit_micro_usd: number | string;
  spent_micro_usd: number | string;
  reserved_micro_usd: number | string;
  updated_at: unknown;
}

interface ReservationRow {
  id: string;
  tenant_id: string;
  idempotency_key: string;
  amount_micro_usd: number | string;
  settled_micro_usd: number | string | null;
  state: ReservationState;
}

/** Sets the limit, keeping what is already spent and reserved. */
export async function setBudget(db: Knex, input: SetBudgetInput): Promise<Budget> {
  assertMicroUsd('limitMicroUsd', input.limitMicroUsd);
  const now = nowIso();
  await db('budgets')
    .insert({
      tenant_id: input.tenantId,
      limit_micro_usd: input.limitMicroUsd,
      spent_micro_usd: 0,
      reserved_micro_usd: 0,
      updated_at: now,
    })
    .onConflict('tenant_id')
    .merge(['limit_micro_usd', 'updated_at']);
  const budget = await getBudget(db, input.tenantId);
  if (budget === undefined) throw new Error(`Budget for ${input.tenantId} vanished right after its upsert`);
  return budget;
}

export async function getBudget(db: Knex, tenantId: string): Promise<Budget | undefined> {
  const row = (await db<BudgetRow>('budgets').where({ tenant_id: tenantId }).first()) as
    BudgetRow | undefined;
  return row === undefined ? undefined : toBudget(row);
}

/**
 * Admits a request only if `spent + reserved + amount ≤ limit`, holding the amount as reserved. The
 * check and the increment happen under the budget row's lock, so concurrent callers can never
 * overshoot the limit together.
 */
export async function reserveBudget(db: Knex, input: ReserveBudgetInput): Promise<ReserveBudgetResult> {
  assertMicroUsd('amountMicroUsd', input.amountMicroUsd);
  return db.transaction(async (trx) => {
    const budget = await lockBudget(trx, input.tenantId);
    const denied = (reason: string): ReserveBudgetResult => ({
      admitted: false,
      reason,
      limitMicroUsd: budget?.limitMicroUsd ?? 0,
      spentMicroUsd: budget?.spentMicroUsd ?? 0,
      reservedMicroUsd: budget?.reservedMicroUsd ?? 0,
    });
    const existing = await findReservation(trx, input.idempotencyKey);
    if (existing !== undefined) {
      if (existing.tenant_id !== input.tenantId) {
        return denied(`idempotency key ${input.idempotencyKey} belongs to another tenant`);
      }
      return existing.state === 'active'
        ? {
            admitted: true,
            reservationId: existing.id,
            amountMicroUsd: toSafeInteger(existing.amount_micro_usd),
          }
        : denied(`reservation ${input.idempotencyKey} is already ${existing.state}`);
    }
    if (budget === undefined) return denied(`tenant ${input.tenantId} has no budget configured`);
    const committed = budget.spentMicroUsd + budget.reservedMicroUsd;
    if (committed + input.amountMicroUsd > budget.limitMicroUsd) {
      return denied(
        `budget exhausted: ${input.amountMicroUsd} micro-USD requested, ` +
          `${Math.max(budget.limitMicroUsd - committed, 0)} of ${budget.limitMicroUsd} available`,
      );
    }
    const reservationId = randomUUID();
    const now = nowIso();
    await trx('budget_reservations').insert({
      id: reservationId,
      tenant_id: input.tenantId,
      idempotency_key: input.idempotencyKey,
      amount_micro_usd: input.amountMicroUsd,
      settled_micro_usd: null,
      state: 'active',
      created_at: now,
      updated_at: now,
    });
    await trx('budgets')
      .where({ tenant_id: input.tenantId })
      .update({
        reserved_micro_usd: trx.raw('reserved_micro_usd + ?', [input.amountMicroUsd]),
        updated_at: now,
      });
    return { admitted: true, reservationId, amountMicroUsd: input.amountMicroUsd };
  });
}

/**
 * Turns a reservation into spend: the reserved amount leaves `reserved` and the actual cost (capped at
 * the reserved amount, reported as `clamped`) joins `spent`. Idempotent; `none` for an unknown key.
 */
export async function settleReservation(
  db: Knex,
  idempotencyKey: string,
  actualMicroUsd: number,
): Promise<ReservationOutcome> {
  assertMicroUsd('actualMicroUsd', actualMicroUsd);
  return finishReservation(db, idempotencyKey, 'settled', actualMicroUsd);
}

/** Returns a reservation's whole amount to the budget (every exit path that spent nothing). Idempotent. */
export async function releaseReservation(db: Knex, idempotencyKey: string): Promise<ReservationOutcome> {
  return finishReservation(db, idempotencyKey, 'released', 0);
}

async function finishReservation(
  db: Knex,
  idempotencyKey: string,
  target: 'settled' | 'released',
  actualMicroUsd: number,
): Promise<ReservationOutcome> {
  return db.transaction(async (trx) => {
    // Taken before the first read: on SQLite this is the write lock, on PostgreSQL it queues
    // concurrent settle/release calls for the same key.
    await serializeOn(trx, 'budget_reservations', idempotencyKey);
    const found = await findReservation(trx, idempotencyKey);
    if (found === undefined) return { state: 'none', idempotencyKey };
    // Same lock order as reserveBudget (budget row first), then re-read under the lock.
    await lockBudget(trx, found.tenant_id);
    const reservation = (await findReservation(trx, idempotencyKey)) as ReservationRow;
    const amountMicroUsd = toSafeInteger(reservation.amount_micro_usd);
    const base = {
      idempotencyKey,
      reservationId: reservation.id,
      tenantId: reservation.tenant_id,
      amountMicroUsd,
    };
    if (reservation.state !== 'active') {
      return {
        ...base,
        state: reservation.state,
        settledMicroUsd:
          reservation.settled_micro_usd === null ? null : toSafeInteger(reservation.settled_micro_usd),
        changed: false,
        clamped: false,
      };
    }
    const settledMicroUsd = target === 'settled' ? Math.min(actualMicroUsd, amountMicroUsd) : null;
    const now = nowIso();
    await trx('budgets')
      .where({ tenant_id: reservation.tenant_id })
      .update({
        reserved_micro_usd: trx.raw('reserved_micro_usd - ?', [amountMicroUsd]),
        spent_micro_usd: trx.raw('spent_micro_usd + ?', [settledMicroUsd ?? 0]),
        updated_at: now,
      });
    await trx('budget_reservations')
      .where({ id: reservation.id })
      .update({ state: target, settled_micro_usd: settledMicroUsd, updated_at: now });
    return {
      ...base,
      state: target,
      settledMicroUsd,
      changed: true,
      clamped: target === 'settled' && actualMicroUsd > amountMicroUsd,
    };
  });
}

/**
 * Locks the tenant's budget row for the rest of the transaction: SELECT … FOR UPDATE on PostgreSQL;
 * on SQLite, the database write lock taken up front (see serializeOn), which also serialises processes.
 */
async function lockBudget(trx: Knex.Transaction, tenantId: string): Promise<Budget | undefined> {
  const query = trx<BudgetRow>('budgets').where({ tenant_id: tenantId });
  if (isPostgres(trx)) {
    query.forUpdate();
  } else {
    await serializeOn(trx, 'budgets', tenantId);
  }
  const row = (await query.first()) as BudgetRow | undefined;
  return row === undefined ? undefined : toBudget(row);
}

async function findReservation(
  trx: Knex.Transaction,
  idempotencyKey: string,
): Promise<ReservationRow | undefined> {
  return (await trx<ReservationRow>('budget_reservations')
    .where({ idempotency_key: idempotencyKey })
    .first()) as ReservationRow | undefined;
}

function toBudget(row: BudgetRow): Budget {
  return {
    tenantId: row.tenant_id,
    limitMicroUsd: toSafeInteger(row.limit_micro_usd),
    spentMicroUsd: toSafeInteger(row.spent_micro_usd),
    reservedMicroUsd: toSafeInteger(row.reserved_micro_usd),
    updatedAt: toIsoTimestamp(row.updated_at),
  };
}

function assertMicroUsd(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative integer number of micro-USD, got ${value}`);
  }
}
