/**
 * The stable names of the request path's steps (DESIGN.md §1). They appear in timings, audit events,
 * telemetry and the `FailedStep` search attribute, so renaming one is a breaking change.
 */
export const STEP_NAMES = [
  'authorize',
  'plan-retrieval',
  'retrieve',
  'assemble-prompt',
  'select-route',
  'reserve-budget',
  'infer',
  'validate',
  'record',
] as const;

export type StepName = (typeof STEP_NAMES)[number];
