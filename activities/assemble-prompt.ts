import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  MAX_QUESTION_TOKENS,
  parseRequestWorkflowId,
  type PromptReference,
} from '../domain/request-contract';
import { maxPromptTokens } from '../domain/route-table';
import type { AssembledPrompt, RetrievedChunk } from '../domain/step-contracts';
import { assemblePrompt as renderPrompt, ContextBudgetError } from '../governance/assemble-prompt';
import { PromptVariablesError } from '../governance/prompt-variables';
import { resolvePrompt } from '../store/prompt-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { requireAttestedPrompt } from './require-attested-prompt';

export interface AssemblePromptInput {
  tenantId: string;
  prompt: PromptReference;
  question: string;
  chunks: RetrievedChunk[];
  contextTokenBudget: number;
  maxOutputTokens: number;
}

/**
 * The request id the canary split is keyed on, read from the workflow id (`gatehouse/<tenant>/<request>`)
 * so the workflow's input to this step stays as it was.
 */
function currentRequestId(): string | undefined {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  return workflowId === undefined ? undefined : (parseRequestWorkflowId(workflowId)?.requestId ?? workflowId);
}

/**
 * Step 4. Resolves the template version (a `production` reference may land on the canary, by request id), fences retrieved text as untrusted data, counts tokens and fits
 * the context budget. The question's size is checked again here for starts that bypassed the client.
 */
export function createAssemblePromptActivity(
  deps: Pick<ActivityDependencies, 'db' | 'routeTable' | 'tokenCounter' | 'audit'>,
) {
  return async function assemblePrompt(input: AssemblePromptInput): Promise<AssembledPrompt> {
    const questionTokens = deps.tokenCounter.count(input.question);
    if (questionTokens > MAX_QUESTION_TOKENS) {
      throw ApplicationFailure.nonRetryable(
        `the question is ${questionTokens} tokens; the limit is ${MAX_QUESTION_TOKENS}`,
        FAILURE_TYPES.requestInvalid,
      );
    }
    const requestId = currentRequestId();
    const template = await resolvePrompt(deps.db, {
      tenantId: input.tenantId,
      ...input.prompt,
      ...(requestId === undefined ? {} : { requestId }),
    });
    if (!template) {
      const which = input.prompt.version
        ? `version ${input.prompt.version}`
        : `label '${input.prompt.label ?? 'production'}'`;
      throw ApplicationFailure.nonRetryable(
        `prompt '${input.prompt.name}' ${which} does not exist for tenant '${input.tenantId}'`,
        FAILURE_TYPES.promptNotFound,
      );
    }
    await requireAttestedPrompt(deps, input.tenantId, template);
    try {
      return renderPrompt({
        template,
        question: input.question,
        chunks: input.chunks,
        contextTokenBudget: input.contextTokenBudget,
        maxPromptTokens: maxPromptTokens(deps.routeTable, input.maxOutputTokens),
        tokenCounter: deps.tokenCounter,
      });
    } catch (error) {
      if (error instanceof ContextBudgetError) {
        throw ApplicationFailure.nonRetryable(error.message, FAILURE_TYPES.contextBudgetExceeded);
      }
      if (error instanceof PromptVariablesError) {
        throw ApplicationFailure.nonRetryable(error.message, FAILURE_TYPES.promptVariablesInvalid);
      }
      throw error;
    }
  };
}
