import { log } from '@temporalio/activity';
import { reservationMicroUsd, reservationTokens } from '../domain/cost';
import type { DataClass } from '../domain/data-class';
import { redactionFor, type RedactionControl } from '../domain/governance-controls';
import type { Route } from '../domain/route-table';
import type { PromptContent } from '../domain/content-reference';
import type { ReservationStep } from '../domain/step-contracts';
import { redactPrompt } from '../governance/redaction';
import { reserveBudget as reserveInStore, unusedRunReservation } from '../store/budget-repository';
import { listPrincipalsByRole } from '../store/principal-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { promptTextOf } from './request-content';
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
  /** Inline, or a reference to the content store: loaded only when a route counts tokens itself. */
  prompt: PromptContent;
  /** The local count for slot 1; for later slots, the count slot 1 settled on. */
  promptTokens: number;
  maxOutputTokens: number;
  /** Slot 1 reserves this many attempts at once (the task's attempt budget), so an admitted request can finish. */
  attemptsToCover: number;
  /** The policy's redaction: a provider counts the prompt only as it would receive it. */
  redaction?: RedactionControl;
  /** The effective data class, which decides with the route whether redaction applies. */
  dataClass?: DataClass;
  /** The feature authorize charged the request to: its window limits apply beside the tenant's. */
  feature?: string;
  /** The approver who allowed this request past the window hard limits, once (docs/decisions/0021). */
  overrideApprovedBy?: string;
  /** Who may approve an override of a hard limit that allows one: these roles, never the requester. */
  overrideApprovers?: { roles: Array<'approver' | 'admin'>; requesterId: string };
}

/**
 * Step 6. Before the first attempt it reserves the worst case of the whole attempt budget for THIS run
 * (docs/decisions/0012): an admitted request can always finish its retries, and many half-finished
 * requests can never starve each other. Before every further attempt it checks that the run still holds
 * that attempt's worst case — a run a Reset started holds nothing yet — and reserves it if not. Denied
 * means the attempt does not run.
 */
export function createReserveBudgetActivity(
  deps: Pick<
    ActivityDependencies,
    'db' | 'contentKeys' | 'routeTable' | 'providers' | 'clock' | 'reservationTtlMs'
  >,
) {
  /** Prompt tokens as the costliest way of counting them says: local, or the provider's own count. */
  async function countPromptTokens(routes: Route[], input: ReserveBudgetInput) {
    let tokens = input.promptTokens;
    const counting = routes.filter(
      (route) => route.countTokensWith === 'provider' && deps.providers[route.provider]?.countTokens,
    );
    // A stored prompt is loaded (and checked) once, and only when some route counts it.
    const text = counting.length > 0 ? await promptTextOf(deps, input.tenantId, input.prompt) : undefined;
    for (const route of counting) {
      const provider = deps.providers[route.provider];
      if (!provider?.countTokens || text === undefined) continue;
      try {
        const redaction =
          input.dataClass === undefined
            ? undefined
            : redactionFor(input.redaction, route.id, input.dataClass);
        const prompt = redaction ? redactPrompt(text, redaction.settings) : text;
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

  async function approversOf(input: ReserveBudgetInput): Promise<string[]> {
    if (input.overrideApprovers === undefined) return [];
    const { roles, requesterId } = input.overrideApprovers;
    const approvers = await listPrincipalsByRole(deps.db, input.tenantId, roles);
    return approvers.map((approver) => approver.id).filter((id) => id !== requesterId);
  }

  return async function reserveBudget(input: ReserveBudgetInput): Promise<ReservationStep> {
    const routes = deps.routeTable.routes.filter((route) => input.routeIds.includes(route.id));
    const promptTokens = input.slot === 1 ? await countPromptTokens(routes, input) : input.promptTokens;
    const perAttempt = reservationMicroUsd(routes, promptTokens, input.maxOutputTokens);
    const runId = currentRunId();
    if (input.slot > 1 && (await unusedRunReservation(deps.db, input.workflowId, runId)) >= perAttempt) {
      return { admitted: true, amountMicroUsd: 0, promptTokens };
    }
    const attempts = input.slot === 1 ? input.attemptsToCover : 1;
    const amountMicroUsd = perAttempt * attempts;
    const now = deps.clock();
    const outcome = await reserveInStore(deps.db, {
      tenantId: input.tenantId,
      workflowId: input.workflowId,
      runId,
      slot: input.slot,
      amountMicroUsd,
      expiresAt: new Date(now + (deps.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS)),
      feature: input.feature ?? null,
      tokens: reservationTokens(routes, promptTokens, input.maxOutputTokens) * attempts,
      at: new Date(now),
      overrideApprovedBy: input.overrideApprovedBy,
    });
    const warnings = outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {};
    if (outcome.warnings.length > 0) log.warn('budget limit crossed', { warnings: outcome.warnings });
    return outcome.admitted
      ? { admitted: true, key: outcome.key, amountMicroUsd, promptTokens, ...warnings }
      : {
          admitted: false,
          amountMicroUsd,
          promptTokens,
          reason: outcome.reason,
          ...(outcome.overridable ? { overridable: true, approverIds: await approversOf(input) } : {}),
          ...(outcome.rateLimitedForMs === undefined ? {} : { rateLimitedForMs: outcome.rateLimitedForMs }),
          ...warnings,
        };
  };
}
