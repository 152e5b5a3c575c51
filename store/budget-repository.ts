// Long by design: every function here takes the budget locks in one order; splitting would scatter that order.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  budgetPeriod,
  describeCrossing,
  evaluateBudgetLimits,
  type BudgetWindow,
} from '../domain/budget-limits';
import { adjustWindows, limitsFor, windowScopeAt, windowUsages, type WindowScope } from './budget-windows';
import { firstRecord, isPostgres, nowIso, serializeOn, toIsoTimestamp, toSafeInteger } from './knex-client';
import { checkRateLimit, countRequest } from './rate-limits';

/** All amounts are integer micro-USD (1 USD = 1_000_000). */
export interface Budget {
  tenantId: string;
  limitMicroUsd: number;
  spentMicroUsd: number;
  reservedMicroUsd: number;
  /** Charged beyond what the reservations covered (providers counting more tokens than estimated). */
  overrunMicroUsd: number;
  updatedAt: string;
}

export interface SetBudgetInput {
  tenantId: string;
  limitMicroUsd: number;
}

/**
 * A run's reservations are one row per attempt they cover (docs/decisions/0002): slot 1 before the first
 * attempt, slot n before attempt n. The key is the idempotency key of one reservation call.
 */
export function reservationKey(workflowId: string, runId: string, slot: number): string {
  return `${workflowId}/${runId}/reserve-budget/${slot}`;
}

export interface ReserveBudgetInput {
  tenantId: string;
  workflowId: string;
  /** The run reserving; its `record` (or the reconciler) settles every reservation of the run. */
  runId: string;
  /** The attempt this reservation covers. */
  slot: number;
  amountMicroUsd: number;
  /** After this the reconciler releases the reservation, so a lost run never blocks the tenant. */
  expiresAt: Date;
  /** The request's feature: its own window limits apply beside the tenant's. */
  feature?: string | null;
  /** The worst-case tokens the amount covers, held against token limits. */
  tokens?: number;
  /** When the request is admitted: picks the day and month whose counters it joins. Default: now. */
  at?: Date;
  /**
   * The approver who lifted the window hard limits for this one reservation: only limits that allow an
   * override are lifted, and never the tenant's budget row.
   */
  overrideApprovedBy?: string;
}

export type ReserveBudgetResult =
  | {
      admitted: true;
      key: string;
      reservationId: string;
      amountMicroUsd: number;
      /** Soft limits this reservation crossed (and hard ones an approval overrode): audited, not refused. */
      warnings: string[];
    }
  | {
      admitted: false;
      key: string;
      reason: string;
      limitMicroUsd: number;
      spentMicroUsd: number;
      reservedMicroUsd: number;
      /** Refused only by window hard limits that allow an approver's override; the tenant's budget row never does. */
      overridable: boolean;
      warnings: string[];
      /** Refused by the tenant's rate limit: the next window opens this much later. */
      rateLimitedForMs?: number;
    };

export type ReservationState = 'active' | 'settled' | 'released';

export interface OpenReservation {
  key: string;
  tenantId: string;
  workflowId: string;
  runId: string;
  amountMicroUsd: number;
  createdAt: string;
  expiresAt: string | null;
}

/** What settling a run did. `changed` is false for a repeat that found nothing new to charge. */
export interface RunSettlement {
  state: 'none' | 'settled';
  /** Everything the run's reservations held. */
  reservedMicroUsd: number;
  /** What the run's attempts cost, as the ledger says: now charged to `spent`. */
  chargedMicroUsd: number;
  /** The part of the charge no reservation covered. */
  overrunMicroUsd: number;
  changed: boolean;
}

/** A settlement that would lower an amount already charged: never silently accepted. */
export class SettlementConflictError extends Error {
  override readonly name = 'SettlementConflictError';
}

interface BudgetRow {
  tenant_id: string;
  limit_micro_usd: number | string;
  spent_micro_usd: number | string;
  reserved_micro_usd: number | string;
  overrun_micro_usd: number | string;
  updated_at: unknown;
}

interface ReservationRow {
  id: string;
  tenant_id: string;
  feature: string | null;
  tokens: number | string | null;
  settled_tokens: number | string | null;
  day_period: string | null;
  month_period: string | null;
  idempotency_key: string;
  workflow_id: string | null;
  run_id: string | null;
  amount_micro_usd: number | string;
  settled_micro_usd: number | string | null;
  overrun_micro_usd: number | string;
  state: ReservationState;
  created_at: unknown;
  expires_at: unknown;
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
  return firstRecord(db<BudgetRow>('budgets').where({ tenant_id: tenantId }), toBudget);
}

/**
 * Admits an attempt only if `spent + reserved + amount ≤ limit`, holding the amount as reserved. The check
 * and the increment happen under the budget row's lock, so concurrent callers can never overshoot the
 * limit together; once real spend reaches the limit, nothing new is admitted. Idempotent per key.
 */
export async function reserveBudget(db: Knex, input: ReserveBudgetInput): Promise<ReserveBudgetResult> {
  assertMicroUsd('amountMicroUsd', input.amountMicroUsd);
  const key = reservationKey(input.workflowId, input.runId, input.slot);
  return db.transaction(async (trx) => {
    const budget = await lockBudget(trx, input.tenantId);
    const denied = (reason: string, overridable = false, warnings: string[] = []): ReserveBudgetResult => ({
      admitted: false,
      key,
      reason,
      limitMicroUsd: budget?.limitMicroUsd ?? 0,
      spentMicroUsd: budget?.spentMicroUsd ?? 0,
      reservedMicroUsd: budget?.reservedMicroUsd ?? 0,
      overridable,
      warnings,
    });
    const existing = (await trx<ReservationRow>('budget_reservations')
      .where({ idempotency_key: key })
      .first()) as ReservationRow | undefined;
    if (existing !== undefined) {
      if (existing.tenant_id !== input.tenantId)
        return denied(`reservation ${key} belongs to another tenant`);
      return existing.state === 'active'
        ? {
            admitted: true,
            key,
            reservationId: existing.id,
            amountMicroUsd: toSafeInteger(existing.amount_micro_usd),
            warnings: [],
          }
        : denied(`reservation ${key} is already ${existing.state}`);
    }
    if (budget === undefined) return denied(`tenant ${input.tenantId} has no budget configured`);
    const at = input.at ?? new Date();
    const tokens = input.tokens ?? 0;
    assertMicroUsd('tokens', tokens);
    // A request is counted once, by its first reservation; the attempt loop's top-ups are not requests.
    const rate = input.slot === 1 ? await checkRateLimit(trx, input.tenantId, at, tokens) : undefined;
    if (rate?.limited) return { ...denied(rate.reason), rateLimitedForMs: rate.retryAfterMs };
    const committed = budget.spentMicroUsd + budget.reservedMicroUsd;
    if (committed + input.amountMicroUsd > budget.limitMicroUsd) {
      return denied(
        `${input.amountMicroUsd} micro-USD requested, ` +
          `${Math.max(budget.limitMicroUsd - committed, 0)} of ${budget.limitMicroUsd} available`,
      );
    }
    const scope = windowScopeAt(input.tenantId, input.feature, at);
    const windows = await checkWindowLimits(trx, scope, input.amountMicroUsd, tokens, at);
    if (windows.denied.length > 0 && !(windows.overridable && input.overrideApprovedBy)) {
      return denied(windows.denied.join('; '), windows.overridable, windows.warnings);
    }
    const warnings = [
      ...windows.warnings,
      ...windows.denied.map(
        (crossing) => `overridden by ${input.overrideApprovedBy}'s approval: ${crossing}`,
      ),
    ];
    const reservationId = randomUUID();
    const now = nowIso();
    await trx('budget_reservations').insert({
      id: reservationId,
      tenant_id: input.tenantId,
      idempotency_key: key,
      workflow_id: input.workflowId,
      run_id: input.runId,
      amount_micro_usd: input.amountMicroUsd,
      settled_micro_usd: null,
      state: 'active',
      created_at: now,
      updated_at: now,
      expires_at: input.expiresAt.toISOString(),
      feature: scope.feature,
      tokens,
      day_period: scope.dayPeriod,
      month_period: scope.monthPeriod,
    });
    await adjustWindows(trx, scope, { reservedMicroUsd: input.amountMicroUsd, reservedTokens: tokens });
    if (rate?.applies) await countRequest(trx, input.tenantId, at, tokens);
    await trx('budgets')
      .where({ tenant_id: input.tenantId })
      .update({
        reserved_micro_usd: trx.raw('reserved_micro_usd + ?', [input.amountMicroUsd]),
        updated_at: now,
      });
    return { admitted: true, key, reservationId, amountMicroUsd: input.amountMicroUsd, warnings };
  });
}

/** The window limits a reservation would cross, described for a person; read under the budget lock. */
async function checkWindowLimits(
  trx: Knex.Transaction,
  scope: WindowScope,
  amountMicroUsd: number,
  tokens: number,
  at: Date,
): Promise<{ denied: string[]; overridable: boolean; warnings: string[] }> {
  const limits = await limitsFor(trx, scope.tenantId, scope.feature);
  if (limits.length === 0) return { denied: [], overridable: false, warnings: [] };
  const usageIn = await windowUsages(
    trx,
    scope.tenantId,
    limits.map((limit) => ({ feature: limit.feature, period: budgetPeriod(limit.window, at) })),
  );
  const usageOf = (feature: string, window: BudgetWindow) => usageIn(feature, budgetPeriod(window, at));
  const evaluation = evaluateBudgetLimits(limits, usageOf, { amountMicroUsd, tokens, at });
  return {
    denied: evaluation.denied.map(describeCrossing),
    overridable: evaluation.overridable,
    warnings: evaluation.warnings.map(describeCrossing),
  };
}

/** Takes an active reservation's amounts out of the window counters it was added to. */
async function releaseFromWindows(trx: Knex.Transaction, row: ReservationRow): Promise<void> {
  const scope = scopeOfRun([row]);
  if (scope === undefined) return;
  await adjustWindows(trx, scope, {
    reservedMicroUsd: -toSafeInteger(row.amount_micro_usd),
    reservedTokens: -toSafeInteger(row.tokens ?? 0),
  });
}

/** Where a run's reservations were counted: the first one's tenant, feature and periods. */
function scopeOfRun(rows: ReservationRow[]): WindowScope | undefined {
  const first = rows[0];
  if (first?.day_period === null || first?.day_period === undefined || first.month_period === null)
    return undefined;
  return {
    tenantId: first.tenant_id,
    feature: first.feature,
    dayPeriod: first.day_period,
    monthPeriod: first.month_period,
  };
}

/** Tokens a run's attempts were billed for, as the ledger says (every kind: input, output, cache). */
async function runTokens(db: Knex, workflowId: string, runId: string): Promise<number> {
  const row = (await db('usage_ledger')
    .where({ workflow_id: workflowId, execution_id: runId })
    .sum({ total: db.raw('input_tokens + output_tokens + cache_read_tokens + cache_write_tokens') })
    .first()) as { total: number | string | null } | undefined;
  return row?.total === null || row?.total === undefined ? 0 : toSafeInteger(row.total);
}

/**
 * Charges a run's real cost and frees its reservations, in `trx` (the caller's transaction, which also
 * wrote the ledger rows `actualMicroUsd` sums). The whole cost is charged even beyond what was reserved —
 * the excess is recorded as overrun, never dropped. Settling again charges only what was added since
 * (an attempt whose activity finished after its run closed); asking for less than was charged throws.
 */
export async function settleRun(
  trx: Knex.Transaction,
  input: { tenantId: string; workflowId: string; runId: string; actualMicroUsd: number },
): Promise<RunSettlement> {
  assertMicroUsd('actualMicroUsd', input.actualMicroUsd);
  await serializeOnRun(trx, input.workflowId, input.runId);
  const rows = await runReservations(trx, input.workflowId, input.runId);
  if (rows.length === 0 && input.actualMicroUsd === 0) {
    return { state: 'none', reservedMicroUsd: 0, chargedMicroUsd: 0, overrunMicroUsd: 0, changed: false };
  }
  await lockBudget(trx, input.tenantId);
  const reservedMicroUsd = rows.reduce((total, row) => total + toSafeInteger(row.amount_micro_usd), 0);
  const alreadyCharged = rows.reduce(
    (total, row) => total + (row.settled_micro_usd === null ? 0 : toSafeInteger(row.settled_micro_usd)),
    0,
  );
  const active = rows.filter((row) => row.state === 'active');
  if (input.actualMicroUsd < alreadyCharged) {
    throw new SettlementConflictError(
      `run ${input.runId} of ${input.workflowId} is already charged ${alreadyCharged} micro-USD; a settlement of ${input.actualMicroUsd} would lower it`,
    );
  }
  const delta = input.actualMicroUsd - alreadyCharged;
  const overrunMicroUsd = Math.max(0, input.actualMicroUsd - reservedMicroUsd);
  const previousOverrun = Math.max(0, alreadyCharged - reservedMicroUsd);
  const scope = scopeOfRun(rows);
  const actualTokens = scope === undefined ? 0 : await runTokens(trx, input.workflowId, input.runId);
  const tokenDelta = Math.max(
    0,
    actualTokens - rows.reduce((total, row) => total + toSafeInteger(row.settled_tokens ?? 0), 0),
  );
  if (delta === 0 && tokenDelta === 0 && active.length === 0) {
    return {
      state: 'settled',
      reservedMicroUsd,
      chargedMicroUsd: alreadyCharged,
      overrunMicroUsd,
      changed: false,
    };
  }
  const now = nowIso();
  const releasedFromReserve = active.reduce((total, row) => total + toSafeInteger(row.amount_micro_usd), 0);
  await trx('budgets')
    .where({ tenant_id: input.tenantId })
    .update({
      reserved_micro_usd: trx.raw('reserved_micro_usd - ?', [releasedFromReserve]),
      spent_micro_usd: trx.raw('spent_micro_usd + ?', [delta]),
      overrun_micro_usd: trx.raw('overrun_micro_usd + ?', [overrunMicroUsd - previousOverrun]),
      updated_at: now,
    });
  // The windows: each active reservation leaves the periods it was counted in; the charge joins the
  // periods that admitted the run (its first reservation's).
  for (const row of active) await releaseFromWindows(trx, row);
  if (scope !== undefined) await adjustWindows(trx, scope, { spentMicroUsd: delta, spentTokens: tokenDelta });
  // Each row shows the part of the charge it covered; the last row carries what none covered.
  let remaining = input.actualMicroUsd;
  for (const [index, row] of rows.entries()) {
    const amount = toSafeInteger(row.amount_micro_usd);
    const last = index === rows.length - 1;
    const share = last ? remaining : Math.min(amount, remaining);
    remaining -= share;
    await trx('budget_reservations')
      .where({ id: row.id })
      .update({
        state: 'settled',
        settled_micro_usd: share,
        overrun_micro_usd: Math.max(0, share - amount),
        ...(scope === undefined ? {} : { settled_tokens: last ? actualTokens : 0 }),
        updated_at: now,
      });
  }
  if (rows.length === 0) {
    // Attempts with no reservation at all (a run from before reservations were per run): charge them.
    await trx('budget_reservations').insert({
      id: randomUUID(),
      tenant_id: input.tenantId,
      idempotency_key: reservationKey(input.workflowId, input.runId, 0),
      workflow_id: input.workflowId,
      run_id: input.runId,
      amount_micro_usd: 0,
      settled_micro_usd: input.actualMicroUsd,
      overrun_micro_usd: input.actualMicroUsd,
      state: 'settled',
      created_at: now,
      updated_at: now,
      expires_at: null,
    });
  }
  return {
    state: 'settled',
    reservedMicroUsd,
    chargedMicroUsd: input.actualMicroUsd,
    overrunMicroUsd,
    changed: true,
  };
}

/** Holds `trx` on one run's reservations, so its ledger writes and its settlement never interleave. */
export async function serializeOnRun(
  trx: Knex.Transaction,
  workflowId: string,
  runId: string,
): Promise<void> {
  await serializeOn(trx, 'budget_reservations', `${workflowId}/${runId}`);
}

/**
 * What a run still holds for attempts it has not made: its active reservations less what its attempts
 * in the ledger already cost. Never negative.
 */
export async function unusedRunReservation(db: Knex, workflowId: string, runId: string): Promise<number> {
  const reserved = (await runReservations(db, workflowId, runId))
    .filter((row) => row.state === 'active')
    .reduce((total, row) => total + toSafeInteger(row.amount_micro_usd), 0);
  const used = (await db('usage_ledger')
    .where({ workflow_id: workflowId, execution_id: runId })
    .sum({ total: 'cost_micro_usd' })
    .first()) as { total: number | string | null } | undefined;
  return Math.max(
    0,
    reserved - (used?.total === null || used?.total === undefined ? 0 : toSafeInteger(used.total)),
  );
}

/** True once a run's reservations have been settled (its record or the reconciler charged it). */
export async function isRunSettled(trx: Knex, workflowId: string, runId: string): Promise<boolean> {
  const rows = await runReservations(trx, workflowId, runId);
  return rows.length > 0 && rows.every((row) => row.state === 'settled');
}

/**
 * Returns expired reservations' amounts to their budgets (a run that never settles must not block its
 * tenant). The run's cost is still charged when it settles later. Returns the released reservations.
 */
export async function releaseExpiredReservations(db: Knex, now: Date): Promise<OpenReservation[]> {
  const expired = await listOpenReservations(db, { expiredBy: now });
  const released: OpenReservation[] = [];
  for (const reservation of expired) {
    const changed = await db.transaction(async (trx) => {
      await serializeOnRun(trx, reservation.workflowId, reservation.runId);
      await lockBudget(trx, reservation.tenantId);
      const row = (await trx<ReservationRow>('budget_reservations')
        .where({ idempotency_key: reservation.key })
        .first()) as ReservationRow | undefined;
      if (row?.state !== 'active') return false;
      const stamp = nowIso();
      await trx('budgets')
        .where({ tenant_id: reservation.tenantId })
        .update({
          reserved_micro_usd: trx.raw('reserved_micro_usd - ?', [toSafeInteger(row.amount_micro_usd)]),
          updated_at: stamp,
        });
      await releaseFromWindows(trx, row);
      await trx('budget_reservations')
        .where({ id: row.id })
        .update({ state: 'released', release_reason: 'expired', updated_at: stamp });
      return true;
    });
    if (changed) released.push(reservation);
  }
  return released;
}

/** Active reservations, oldest first: those created before `createdBefore`, or expired by `expiredBy`. */
export async function listOpenReservations(
  db: Knex,
  filter: { createdBefore?: Date; expiredBy?: Date; limit?: number } = {},
): Promise<OpenReservation[]> {
  const query = db<ReservationRow>('budget_reservations').where({ state: 'active' }).orderBy('created_at');
  if (filter.createdBefore) query.andWhere('created_at', '<', filter.createdBefore.toISOString());
  if (filter.expiredBy) query.andWhere('expires_at', '<', filter.expiredBy.toISOString());
  if (filter.limit) query.limit(filter.limit);
  const rows = (await query) as ReservationRow[];
  return rows
    .filter((row) => row.workflow_id !== null && row.run_id !== null)
    .map((row) => ({
      key: row.idempotency_key,
      tenantId: row.tenant_id,
      workflowId: row.workflow_id as string,
      runId: row.run_id as string,
      amountMicroUsd: toSafeInteger(row.amount_micro_usd),
      createdAt: toIsoTimestamp(row.created_at),
      expiresAt: row.expires_at === null ? null : toIsoTimestamp(row.expires_at),
    }));
}

/** A run's reservations as the budget sees them, for `requests show` and the tests. */
export async function getRunReservations(
  db: Knex,
  workflowId: string,
  runId: string,
): Promise<
  Array<{ key: string; state: ReservationState; amountMicroUsd: number; settledMicroUsd: number | null }>
> {
  return (await runReservations(db, workflowId, runId)).map((row) => ({
    key: row.idempotency_key,
    state: row.state,
    amountMicroUsd: toSafeInteger(row.amount_micro_usd),
    settledMicroUsd: row.settled_micro_usd === null ? null : toSafeInteger(row.settled_micro_usd),
  }));
}

async function runReservations(db: Knex, workflowId: string, runId: string): Promise<ReservationRow[]> {
  return (await db<ReservationRow>('budget_reservations')
    .where({ workflow_id: workflowId, run_id: runId })
    .orderBy([{ column: 'created_at' }, { column: 'idempotency_key' }])) as ReservationRow[];
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
  return firstRecord(query, toBudget);
}

function toBudget(row: BudgetRow): Budget {
  return {
    tenantId: row.tenant_id,
    limitMicroUsd: toSafeInteger(row.limit_micro_usd),
    spentMicroUsd: toSafeInteger(row.spent_micro_usd),
    reservedMicroUsd: toSafeInteger(row.reserved_micro_usd),
    overrunMicroUsd: toSafeInteger(row.overrun_micro_usd ?? 0),
    updatedAt: toIsoTimestamp(row.updated_at),
  };
}

function assertMicroUsd(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative integer number of micro-USD, got ${value}`);
  }
}
