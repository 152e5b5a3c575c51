import type { Knex } from 'knex';
import {
  admitThroughBreaker,
  applyBreakerEvent,
  closedHealth,
  type BreakerEvent,
  type RouteHealth,
} from '../domain/circuit-breaker';
import type { CircuitBreakerSettings } from '../domain/route-table';
import { nowIso, serializeOn, toSafeInteger } from './knex-client';

interface RouteHealthRow {
  route_id: string;
  state: RouteHealth['state'];
  recent_failures: string;
  opened_at: number | string | null;
  probe_started_at: number | string | null;
}

function fromRow(row: RouteHealthRow): RouteHealth {
  return {
    routeId: row.route_id,
    state: row.state,
    recentFailures: JSON.parse(row.recent_failures) as number[],
    openedAt: row.opened_at === null ? undefined : toSafeInteger(row.opened_at),
    probeStartedAt: row.probe_started_at === null ? undefined : toSafeInteger(row.probe_started_at),
  };
}

function toRow(health: RouteHealth): RouteHealthRow & { updated_at: string } {
  return {
    route_id: health.routeId,
    state: health.state,
    recent_failures: JSON.stringify(health.recentFailures),
    opened_at: health.openedAt ?? null,
    probe_started_at: health.probeStartedAt ?? null,
    updated_at: nowIso(),
  };
}

export async function getRouteHealth(db: Knex, routeIds: string[]): Promise<Record<string, RouteHealth>> {
  if (routeIds.length === 0) return {};
  const rows = (await db('route_health').whereIn('route_id', routeIds)) as RouteHealthRow[];
  return Object.fromEntries(rows.map((row) => [row.route_id, fromRow(row)]));
}

async function updateUnderLock(
  db: Knex,
  routeId: string,
  change: (current: RouteHealth) => RouteHealth | undefined,
): Promise<RouteHealth> {
  return db.transaction(async (trx) => {
    await serializeOn(trx, 'route_health', routeId);
    const row = (await trx('route_health').where({ route_id: routeId }).first()) as
      RouteHealthRow | undefined;
    const current = row ? fromRow(row) : closedHealth(routeId);
    const next = change(current);
    if (!next) return current;
    const { route_id: _routeId, ...values } = toRow(next);
    if (row) await trx('route_health').where({ route_id: routeId }).update(values);
    else await trx('route_health').insert(toRow(next));
    return next;
  });
}

/** Records one attempt's outcome for the circuit breaker; returns the new health. */
export async function recordRouteOutcome(
  db: Knex,
  routeId: string,
  event: BreakerEvent,
  now: number,
  settings: CircuitBreakerSettings,
): Promise<RouteHealth> {
  return updateUnderLock(db, routeId, (current) => {
    // Closed and healthy stays as it is: no write on the hot path of a healthy route.
    if (event.kind === 'success' && current.state === 'closed' && current.recentFailures.length === 0)
      return undefined;
    return applyBreakerEvent(current, event, now, settings);
  });
}

/**
 * Hands out the half-open probe of a route to exactly one caller: re-checks the breaker under the row
 * lock, so two requests that both saw an expired cool-down cannot both probe.
 */
export async function claimRouteProbe(
  db: Knex,
  routeId: string,
  now: number,
  settings: CircuitBreakerSettings,
): Promise<boolean> {
  let claimed = false;
  await updateUnderLock(db, routeId, (current) => {
    const admission = admitThroughBreaker(current, now, settings);
    if (!admission.admitted || !admission.probe) return undefined;
    claimed = true;
    return admission.health;
  });
  return claimed;
}
