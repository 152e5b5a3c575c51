import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { FAILURE_TYPES } from '../domain/failure-types';

/**
 * Validates a workflow's input with `safeParse`: a bare throw (or zod's `parse`) inside a workflow would
 * retry the workflow task forever, so bad input ends the run as a non-retryable `FAILURE_TYPES.requestInvalid`.
 */
export function parseWorkflowInput<Schema extends z.ZodTypeAny>(
  schema: Schema,
  raw: unknown,
  what: string,
): z.output<Schema> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw ApplicationFailure.nonRetryable(
    `invalid ${what}: ${issue ? `${issue.path.join('.') || what}: ${issue.message}` : 'unknown problem'}`,
    FAILURE_TYPES.requestInvalid,
  );
}
