import { log } from '@temporalio/activity';
import { reservationMicroUsd } from '../domain/cost';
import type { Route } from '../domain/route-table';
import type { InferenceRequest, ReservationStep } from '../domain/step-contracts';
import { reserveBudget as reserveInStore } from '../store/budget-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { currentRunId } from './timed';

/** A reservation outlives any inference phase and the record's retries; then the reconciler frees it. */
export const DEFAULT_RESERVATION_TTL_MS = 60 * 60_000;

export interface ReserveBudgetInput {
  tenantId: string;
  workflowId: string;
  /** The attempt this reservation covers: 1 before the first attempt, n before attempt n. */
  slot: number;
  /** The routes the attempt may use: every candidate for slot 1, the attempt's route after that. */
  routeIds: string[];
  prompt: InferenceRequest['prompt'];
  /** The local count for slot 1; for later slots, the count slot 1 settled on. */
  promptTokens: number;
  maxOutputTokens: number;
}

/**
 * Step 6, before every attempt: reserves the attempt's worst case for THIS run (docs/decisions/0002), so
 * neither retries nor a Reset can spend what was never reserved. Denied means nothing is spent.
 */
export function createReserveBudgetActivity(
  deps: Pick<ActivityDependencies, 'db' | 'routeTable' | 'providers' | 'clock' | 'reservationTtlMs'>,
) {
  /** Prompt tokens as the costliest way of counting them says: local, or the provider's own count. */
  async function countPromptTokens(routes: Route[], prompt: InferenceRequest['prompt'], local: number) {
    let tokens = local;
    for (const route of routes.filter((candidate) => candidate.countTokensWith === 'provider')) {
      const provider = deps.providers[route.provider];
      if (!provider?.countTokens) continue;
      try {
        tokens = Math.max(tokens, await provider.countTokens({ route, prompt }));
      } catch (error) {
        // The local count (with its margin) still bounds the reservation; a count failure must not fail.
        log.warn('provider token count failed; using the local count', {
          routeId: route.id,
          error: String(error),
        });
      }
    }
    return tokens;
  }

  return async function reserveBudget(input: ReserveBudgetInput): Promise<ReservationStep> {
    const routes = deps.routeTable.routes.filter((route) => input.routeIds.includes(route.id));
    const promptTokens =
      input.slot === 1
        ? await countPromptTokens(routes, input.prompt, input.promptTokens)
        : input.promptTokens;
    const amountMicroUsd = reservationMicroUsd(routes, promptTokens, input.maxOutputTokens);
    const outcome = await reserveInStore(deps.db, {
      tenantId: input.tenantId,
      workflowId: input.workflowId,
      runId: currentRunId(),
      slot: input.slot,
      amountMicroUsd,
      expiresAt: new Date(deps.clock() + (deps.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS)),
    });
    return outcome.admitted
      ? { admitted: true, key: outcome.key, amountMicroUsd, promptTokens }
      : { admitted: false, amountMicroUsd, promptTokens, reason: outcome.reason };
  };
}
