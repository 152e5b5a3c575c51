import { ApplicationFailure, Context } from '@temporalio/activity';
import { CONTENT_BY_REFERENCE_MIN_BYTES } from '../domain/content-reference';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  MAX_QUESTION_TOKENS,
  parseRequestWorkflowId,
  type PromptReference,
} from '../domain/request-contract';
import { maxPromptTokens } from '../domain/route-table';
import type { AssembledPrompt, RenderedPrompt, RetrievedChunk } from '../domain/step-contracts';
import { assemblePrompt as renderPrompt, ContextBudgetError } from '../governance/assemble-prompt';
import { PromptVariablesError } from '../governance/prompt-variables';
import { sha256Hex } from '../governance/sha256';
import type { TokenCounter } from '../providers/token-counter';
import { resolvePromptAsStored } from '../store/prompt-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { storePromptContent } from './request-content';
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
  const workflowId = currentWorkflowId();
  return workflowId === undefined ? undefined : (parseRequestWorkflowId(workflowId)?.requestId ?? workflowId);
}

function currentWorkflowId(): string | undefined {
  return Context.current().info.workflowExecution?.workflowId;
}

/**
 * A prompt of at least CONTENT_BY_REFERENCE_MIN_BYTES is stored, sealed for the tenant, and only its
 * reference goes into history (docs/decisions/0026); a smaller one stays inline, as before.
 */
async function byReferenceWhenLarge(
  deps: Pick<ActivityDependencies, 'db' | 'contentKeys'>,
  tenantId: string,
  rendered: RenderedPrompt,
): Promise<AssembledPrompt> {
  const bytes = Buffer.byteLength(rendered.system, 'utf8') + Buffer.byteLength(rendered.user, 'utf8');
  if (bytes < CONTENT_BY_REFERENCE_MIN_BYTES) return rendered;
  const workflowId = currentWorkflowId();
  if (workflowId === undefined) {
    throw new Error('assemble-prompt ran outside a workflow: a large prompt has no request to be stored for');
  }
  const { system, user, ...facts } = rendered;
  const content = await storePromptContent(deps, {
    tenantId,
    workflowId,
    step: 'assemble-prompt',
    prompt: { system, user },
    tokens: rendered.inputTokens,
  });
  return { ...facts, content };
}

/** Texts at least this long have their token count remembered, keyed by their SHA-256. */
const REMEMBERED_COUNT_MIN_CHARS = 16 * 1024;
/** How many such counts one worker keeps, the least recently used going first. */
const REMEMBERED_COUNTS = 64;

/**
 * A large system prompt (a handbook in the template) is the same text on every request of its prompt
 * version: counted once per worker, then found by its hash in well under a millisecond instead of
 * 15-20 ms per 100k tokens (docs/decisions/0026). Small texts are counted every time.
 */
export function rememberingLargeCounts(counter: TokenCounter): TokenCounter {
  const counts = new Map<string, number>();
  return {
    count(text) {
      if (text.length < REMEMBERED_COUNT_MIN_CHARS) return counter.count(text);
      const key = sha256Hex(text);
      const known = counts.get(key);
      if (known !== undefined) {
        counts.delete(key);
        counts.set(key, known);
        return known;
      }
      const counted = counter.count(text);
      if (counts.size >= REMEMBERED_COUNTS) counts.delete(counts.keys().next().value as string);
      counts.set(key, counted);
      return counted;
    },
  };
}

/**
 * Step 4. Resolves the template version (a `production` reference may land on the canary, by request id), fences retrieved text as untrusted data, counts tokens and fits
 * the context budget. The question's size is checked again here for starts that bypassed the client.
 */
export function createAssemblePromptActivity(
  deps: Pick<ActivityDependencies, 'db' | 'contentKeys' | 'routeTable' | 'tokenCounter' | 'audit'>,
) {
  const tokenCounter = rememberingLargeCounts(deps.tokenCounter);
  return async function assemblePrompt(input: AssemblePromptInput): Promise<AssembledPrompt> {
    const questionTokens = deps.tokenCounter.count(input.question);
    if (questionTokens > MAX_QUESTION_TOKENS) {
      throw ApplicationFailure.nonRetryable(
        `the question is ${questionTokens} tokens; the limit is ${MAX_QUESTION_TOKENS}`,
        FAILURE_TYPES.requestInvalid,
      );
    }
    const requestId = currentRequestId();
    const resolved = await resolvePromptAsStored(deps.db, {
      tenantId: input.tenantId,
      ...input.prompt,
      ...(requestId === undefined ? {} : { requestId }),
    });
    if (!resolved) {
      const which = input.prompt.version
        ? `version ${input.prompt.version}`
        : `label '${input.prompt.label ?? 'production'}'`;
      throw ApplicationFailure.nonRetryable(
        `prompt '${input.prompt.name}' ${which} does not exist for tenant '${input.tenantId}'`,
        FAILURE_TYPES.promptNotFound,
      );
    }
    await requireAttestedPrompt(deps, input.tenantId, resolved);
    const template = resolved.prompt;
    let rendered: RenderedPrompt;
    try {
      rendered = renderPrompt({
        template,
        question: input.question,
        chunks: input.chunks,
        contextTokenBudget: input.contextTokenBudget,
        maxPromptTokens: maxPromptTokens(deps.routeTable, input.maxOutputTokens),
        tokenCounter,
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
    return byReferenceWhenLarge(deps, input.tenantId, rendered);
  };
}
