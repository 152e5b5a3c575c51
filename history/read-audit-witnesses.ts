import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { STEP_ACTIVITY_TYPES } from '../domain/step-names';
import type { RecordOutcome, Timed } from '../domain/step-contracts';
import type { AuditAnchor } from '../governance/verify-audit-chain';

export interface AuditWitnesses {
  anchors: AuditAnchor[];
  /** Runs whose history was read. */
  runsRead: number;
  /** Runs that could not be read (history gone meanwhile, or not decodable with this process's keys). */
  unreadable: number;
}

/**
 * The audit chain heads a tenant's requests recorded into their own Temporal histories (each `record`
 * result carries the head it produced): witnesses the app database cannot rewrite, for as long as
 * Temporal keeps the history.
 */
export async function readAuditWitnesses(
  client: Client,
  tenantId: string,
  options: { limit: number },
): Promise<AuditWitnesses> {
  if (!/^[A-Za-z0-9._:@-]+$/.test(tenantId)) {
    throw new Error(`tenant id '${tenantId}' cannot be used in a visibility query`);
  }
  const converter = client.options.loadedDataConverter;
  const witnesses: AuditWitnesses = { anchors: [], runsRead: 0, unreadable: 0 };
  const query = `WorkflowType = 'llmRequestWorkflow' AND TenantId = '${tenantId}'`;
  for await (const execution of client.workflow.list({ query, pageSize: 100 })) {
    if (witnesses.runsRead + witnesses.unreadable >= options.limit) break;
    try {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const recordScheduled = new Set<string>();
      for (const event of history.events ?? []) {
        const scheduled = event.activityTaskScheduledEventAttributes;
        if (scheduled?.activityType?.name === STEP_ACTIVITY_TYPES.record)
          recordScheduled.add(String(event.eventId));
        const completed = event.activityTaskCompletedEventAttributes;
        if (!completed?.result?.payloads || !recordScheduled.has(String(completed.scheduledEventId)))
          continue;
        const result = await decodeFromPayloadsAtIndex<Timed<RecordOutcome>>(
          converter,
          0,
          completed.result.payloads,
        );
        const head = result.value.auditHead;
        if (head === undefined || head.seq === 0) continue;
        witnesses.anchors.push({
          seq: head.seq,
          hash: head.hash,
          source: `the history of ${execution.workflowId} (run ${execution.runId})`,
          workflowId: execution.workflowId,
        });
      }
      witnesses.runsRead += 1;
    } catch {
      witnesses.unreadable += 1;
    }
  }
  return witnesses;
}
