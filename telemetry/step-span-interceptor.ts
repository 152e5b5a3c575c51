import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { stepOfActivityType } from '../domain/step-names';
import { tenantOfWorkflowId } from '../domain/workflow-tenant';
import { ERROR_TYPE, GATEHOUSE } from './semantic-conventions';

/** The attempt (or budget slot) a step's input names, for the steps that run once per attempt. */
function attemptOf(args: readonly unknown[]): number | undefined {
  const input = args[0];
  if (typeof input !== 'object' || input === null) return undefined;
  const { attempt, slot } = input as { attempt?: unknown; slot?: unknown };
  if (typeof attempt === 'number') return attempt;
  return typeof slot === 'number' ? slot : undefined;
}

/** A failure's type (`FAILURE_TYPES.budgetExceeded`, `INFERENCE_FAILURE_TYPES.rateLimited`…), never its message. */
function failureTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { type, name } = error as { type?: unknown; name?: unknown };
    if (typeof type === 'string' && type !== '') return type;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

/**
 * A span per step, named after it (`authorize` … `record`), inside Temporal's `RunActivity` span: the
 * trace reads as the request path. Its attributes are ids only; a failed step carries its failure type.
 */
export class StepSpanInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly activity: ActivityContext,
    private readonly tracer: Tracer,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    const step = stepOfActivityType(this.activity.info.activityType);
    if (step === undefined) return next(input);
    const workflowId = this.activity.info.workflowExecution?.workflowId;
    const attempt = attemptOf(input.args);
    return this.tracer.startActiveSpan(step, async (span) => {
      span.setAttribute(GATEHOUSE.step, step);
      const tenantId = tenantOfWorkflowId(workflowId);
      if (tenantId !== undefined) span.setAttribute(GATEHOUSE.tenantId, tenantId);
      if (workflowId !== undefined) span.setAttribute(GATEHOUSE.workflowId, workflowId);
      if (attempt !== undefined) span.setAttribute(GATEHOUSE.attempt, attempt);
      try {
        return await next(input);
      } catch (error) {
        const failureType = failureTypeOf(error);
        span.setAttribute(ERROR_TYPE, failureType);
        span.setStatus({ code: SpanStatusCode.ERROR, message: failureType });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
