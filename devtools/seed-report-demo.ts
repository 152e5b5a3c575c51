import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AUDIT_EVENT_TYPES, AUDIT_SLOTS, type AuditEventDraft } from '../domain/audit-event';
import { usageCostMicroUsd } from '../domain/cost';
import { INFERENCE_FAILURE_TYPES } from '../domain/failure-types';
import type { RouteTable } from '../domain/route-table';
import { seededRandom } from '../domain/seeded-random';
import type { AuditChainKey } from '../governance/audit-chain';
import { appendAuditEvents } from '../store/audit-repository';
import { recordFeedback } from '../store/feedback-repository';
import { recordUsage, type NewUsageRecord } from '../store/usage-repository';

const FEATURES = ['refund-faq', 'search', 'onboarding'] as const;
/** Typical milliseconds per step of the request path on the demo machine, as a median and a spread. */
const STEP_MS: Record<string, [number, number]> = {
  authorize: [2.5, 1.5],
  'plan-retrieval': [0.3, 0.2],
  retrieve: [14, 9],
  'assemble-prompt': [3, 2],
  'select-route': [1.2, 0.8],
  'reserve-budget': [4, 3],
  infer: [420, 380],
  validate: [0.8, 0.5],
};

export interface ReportDemoResult {
  requests: number;
  ledgerRows: number;
  feedback: number;
}

/**
 * Seeds a week of demo traffic for the reports: ledger rows for three features across the last seven
 * days (some retried, some fallen back, some served from the prompt cache), the audit trail's step events
 * with their measured times, and caller feedback. For demos, screenshots and the report's own tests;
 * nothing here runs in a deployment.
 */
export async function seedReportDemo(
  db: Knex,
  options: { chainKey: AuditChainKey; routeTable: RouteTable; tenantId?: string; now?: Date; seed?: number },
): Promise<ReportDemoResult> {
  const tenantId = options.tenantId ?? 'demo';
  const now = options.now ?? new Date();
  // Seeded, so the demo data and its screenshot are reproducible.
  const next = seededRandom(options.seed ?? 12);
  const route = (id: string) => {
    const found = options.routeTable.routes.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`the route table has no route ${id}`);
    return found;
  };
  const primary = options.routeTable.routes[0]!;
  const fallback = options.routeTable.routes.at(-1)!;
  const ledger: Array<NewUsageRecord & { createdAt: string }> = [];
  const audit: AuditEventDraft[] = [];
  let feedback = 0;
  let requests = 0;
  for (let day = 6; day >= 0; day--) {
    const perDay = 8 + Math.floor(next() * 10);
    for (let index = 0; index < perDay; index++) {
      requests++;
      const requestId = `demo-${day}-${index}`;
      const workflowId = `gatehouse/${tenantId}/${requestId}`;
      const runId = randomUUID();
      const feature = FEATURES[Math.floor(next() * FEATURES.length)]!;
      const promptRef = next() < 0.5 ? 'qa@1' : 'qa@2';
      const createdAt = new Date(
        now.getTime() - day * 86_400_000 - Math.floor(next() * 3_600_000),
      ).toISOString();
      const roll = next();
      const plan = roll < 0.12 ? [primary, fallback] : roll < 0.25 ? [primary, primary] : [primary];
      plan.forEach((served, position) => {
        const last = position === plan.length - 1;
        const cacheReadTokens = served.id === primary.id && next() < 0.35 ? 800 : 0;
        const usage = {
          inputTokens: 900 + Math.floor(next() * 600),
          outputTokens: last ? 150 + Math.floor(next() * 200) : 0,
          cacheReadTokens,
          cacheWriteTokens: cacheReadTokens === 0 && next() < 0.1 ? 800 : 0,
        };
        ledger.push({
          tenantId,
          workflowId,
          runId,
          attempt: position + 1,
          routeId: served.id,
          provider: route(served.id).provider,
          model: route(served.id).model,
          principalId: 'analyst',
          feature,
          taskType: 'qa',
          promptRef,
          ...usage,
          costMicroUsd: usageCostMicroUsd(route(served.id), usage),
          pricingVersion: route(served.id).pricingVersion ?? null,
          outcome: last ? 'succeeded' : 'failed',
          failureType: last ? null : INFERENCE_FAILURE_TYPES.rateLimited,
          usageEstimated: false,
          createdAt,
        });
      });
      const retrieved = [`doc-${1 + Math.floor(next() * 3)}`];
      for (const [step, [median, spread]] of Object.entries(STEP_MS)) {
        const elapsedMs =
          Math.round(Math.max(0.05, median + (next() - 0.4) * spread * (next() < 0.05 ? 6 : 1)) * 1000) /
          1000;
        audit.push({
          tenantId,
          workflowId,
          runId,
          step,
          attempt: 0,
          eventType: AUDIT_EVENT_TYPES.stepSucceeded,
          payload: {
            status: 'succeeded',
            elapsedMs,
            ...(step === 'retrieve' ? { chunks: retrieved.map((documentId) => ({ documentId })) } : {}),
          },
        });
      }
      audit.push({
        tenantId,
        workflowId,
        runId,
        ...AUDIT_SLOTS.outcome,
        eventType: AUDIT_EVENT_TYPES.requestSucceeded,
        payload: { requestId, chainId: runId, promptVersion: promptRef, routeId: plan.at(-1)!.id },
      });
      if (next() < 0.45) {
        // qa@2 answers better in the demo, and the fallback route worse: the chart shows both.
        const quality =
          (promptRef === 'qa@2' ? 0.35 : 0) - (plan.length > 1 && plan[1] !== primary ? 0.4 : 0);
        const value = next() + quality;
        await recordFeedback(db, {
          id: `feedback-${requestId}`,
          tenantId,
          workflowId,
          requestId,
          principalId: 'analyst',
          score: value > 0.6 ? 1 : value > 0.3 ? 0 : -1,
          comment: null,
          routeId: plan.at(-1)!.id,
          promptRef,
          retrievedDocumentIds: retrieved,
          createdAt,
        });
        feedback++;
      }
    }
  }
  await recordUsage(
    db,
    ledger.map(({ createdAt: _, ...row }) => row),
  );
  for (const row of ledger) {
    await db('usage_ledger')
      .where({ workflow_id: row.workflowId, attempt: row.attempt })
      .update({ created_at: row.createdAt });
  }
  await appendAuditEvents(db, options.chainKey, audit);
  return { requests, ledgerRows: ledger.length, feedback };
}
