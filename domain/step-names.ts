/**
 * The stable names of the request path's steps (DESIGN.md §1). They appear in timings, audit events,
 * telemetry and the `FailedStep` search attribute, so renaming one is a breaking change.
 */
export const STEP_NAMES = [
  'authorize',
  'plan-retrieval',
  'retrieve',
  'guard-input',
  'assemble-prompt',
  'select-route',
  'reserve-budget',
  'infer',
  'guard-output',
  'validate',
  'record',
] as const;

export type StepName = (typeof STEP_NAMES)[number];

/**
 * Steps that run only where the tenant's policy asks for them (guardrails, restoring redacted values);
 * otherwise they are logged as skipped and schedule no activity.
 */
export const POLICY_OPTIONAL_STEPS: readonly StepName[] = ['guard-input', 'guard-output'];

/**
 * The activity type Temporal records for each step (one activity per file under activities/, named after
 * it). History, the replay tests and `requests retry --from-step` map steps to events through this table.
 */
export const STEP_ACTIVITY_TYPES = {
  authorize: 'authorize',
  'plan-retrieval': 'planRetrieval',
  retrieve: 'retrieve',
  'guard-input': 'guardInput',
  'assemble-prompt': 'assemblePrompt',
  'select-route': 'selectRoute',
  'reserve-budget': 'reserveBudget',
  infer: 'infer',
  'guard-output': 'guardOutput',
  validate: 'validate',
  record: 'record',
} as const satisfies Record<StepName, string>;

export type StepActivityType = (typeof STEP_ACTIVITY_TYPES)[StepName];

/** Activities that serve a step without being the step itself. */
export const SUPPORT_ACTIVITY_TYPES = {
  /** Authenticates an approver's decision (the approval gate of `authorize`). */
  verifyApprover: 'verifyApprover',
  /** The reconciler's one activity: settles what closed runs left open. */
  reconcileClosedRuns: 'reconcileClosedRuns',
} as const;

const STEP_BY_ACTIVITY_TYPE: ReadonlyMap<string, StepName> = new Map(
  STEP_NAMES.map((step) => [STEP_ACTIVITY_TYPES[step], step]),
);

/** The step an activity type belongs to, if it is one of the request path's. */
export function stepOfActivityType(activityType: string): StepName | undefined {
  return STEP_BY_ACTIVITY_TYPE.get(activityType);
}

export function isStepName(value: unknown): value is StepName {
  return typeof value === 'string' && (STEP_NAMES as readonly string[]).includes(value);
}
