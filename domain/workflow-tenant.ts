/**
 * Which tenant a workflow belongs to, read from its id. Request and batch workflow ids carry the
 * tenant (`gatehouse/<tenant>/<request>`, `gatehouse-batch/<tenant>/<batch>`, DESIGN.md §2), so every
 * payload Temporal hands a codec with that workflow's serialization context can be attributed to it.
 */
const TENANT_SCOPED_WORKFLOW_ID = /^gatehouse(?:-batch)?\/([a-z0-9][a-z0-9-]{0,62})\/./;

/** The tenant of a Gatehouse workflow id; undefined for any other id (calibration runs, foreign workflows). */
export function tenantOfWorkflowId(workflowId: string | undefined): string | undefined {
  if (workflowId === undefined) return undefined;
  return TENANT_SCOPED_WORKFLOW_ID.exec(workflowId)?.[1];
}
