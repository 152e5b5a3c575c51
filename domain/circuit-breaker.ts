import { INFERENCE_FAILURE_TYPES } from './failure-types';
import type { CircuitBreakerSettings } from './route-table';

/**
 * A route's health as the circuit breaker sees it. Closed: traffic flows, failures are counted in a
 * sliding window. Open: the route is skipped until the cool-down passes. Half-open: exactly one request
 * probes the route; its outcome closes or re-opens the circuit.
 */
export interface RouteHealth {
  routeId: string;
  state: 'closed' | 'open' | 'half-open';
  /** Epoch ms of recent failures, inside the window, oldest first. */
  recentFailures: number[];
  openedAt?: number;
  /** When a half-open probe was handed out; a probe that never reports back expires after the cool-down. */
  probeStartedAt?: number;
}

export function closedHealth(routeId: string): RouteHealth {
  return { routeId, state: 'closed', recentFailures: [] };
}

export type BreakerEvent = { kind: 'success' } | { kind: 'failure' };

/** Applies one attempt's outcome. Pure: the store persists what this returns. */
export function applyBreakerEvent(
  health: RouteHealth,
  event: BreakerEvent,
  now: number,
  settings: CircuitBreakerSettings,
): RouteHealth {
  if (event.kind === 'success') {
    return closedHealth(health.routeId);
  }
  const recentFailures = [...health.recentFailures.filter((at) => now - at < settings.windowMs), now];
  if (health.state === 'half-open' || recentFailures.length >= settings.failureThreshold) {
    return { routeId: health.routeId, state: 'open', recentFailures, openedAt: now };
  }
  return { ...health, recentFailures };
}

export type BreakerAdmission =
  { admitted: true; probe: boolean; health: RouteHealth } | { admitted: false; reason: string };

/** Decides whether a request may use the route now, and whether it is the half-open probe. */
export function admitThroughBreaker(
  health: RouteHealth,
  now: number,
  settings: CircuitBreakerSettings,
): BreakerAdmission {
  if (health.state === 'closed') return { admitted: true, probe: false, health };
  const coolingSince = health.state === 'open' ? (health.openedAt ?? 0) : (health.probeStartedAt ?? 0);
  const remaining = settings.cooldownMs - (now - coolingSince);
  if (remaining > 0) {
    const why = health.state === 'open' ? 'circuit open' : 'circuit half-open, probe in flight';
    return {
      admitted: false,
      reason: `${why} (${health.recentFailures.length} recent failures; next probe in ${Math.ceil(remaining / 1000)} s)`,
    };
  }
  return { admitted: true, probe: true, health: { ...health, state: 'half-open', probeStartedAt: now } };
}

/** A request the provider rejected as malformed says nothing about the route's health. */
const FAILURES_NOT_COUNTED: ReadonlySet<string> = new Set([INFERENCE_FAILURE_TYPES.invalidRequest]);

export function countsAgainstRoute(failureType: string): boolean {
  return !FAILURES_NOT_COUNTED.has(failureType);
}
