import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import { MAX_QUESTION_TOKENS, type PromptReference } from '../domain/request-contract';
import { maxPromptTokens } from '../domain/route-table';
import type { AssembledPrompt, RetrievedChunk } from '../domain/step-contracts';
import { assemblePrompt as renderPrompt, ContextBudgetError } from '../governance/assemble-prompt';
import { resolvePrompt } from '../store/prompt-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface AssemblePromptInput {
  tenantId: string;
  prompt: PromptReference;
  question: string;
  chunks: RetrievedChunk[];
  contextTokenBudget: number;
  maxOutputTokens: number;
}

/**
 * Step 4. Resolves the template version, fences retrieved text as untrusted data, counts tokens and fits
 * the context budget. The question's size is checked again here for starts that bypassed the client.
 */
export function createAssemblePromptActivity(
  deps: Pick<ActivityDependencies, 'db' | 'routeTable' | 'tokenCounter'>,
) {
  return async function assemblePrompt(input: AssemblePromptInput): Promise<AssembledPrompt> {
    const questionTokens = deps.tokenCounter.count(input.question);
    if (questionTokens > MAX_QUESTION_TOKENS) {
      throw ApplicationFailure.nonRetryable(
        `the question is ${questionTokens} tokens; the limit is ${MAX_QUESTION_TOKENS}`,
        FAILURE_TYPES.requestInvalid,
      );
    }
    const template = await resolvePrompt(deps.db, { tenantId: input.tenantId, ...input.prompt });
    if (!template) {
      const which = input.prompt.version
        ? `version ${input.prompt.version}`
        : `label '${input.prompt.label ?? 'production'}'`;
      throw ApplicationFailure.nonRetryable(
        `prompt '${input.prompt.name}' ${which} does not exist for tenant '${input.tenantId}'`,
        FAILURE_TYPES.promptNotFound,
      );
    }
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
      throw error;
    }
  };
}
