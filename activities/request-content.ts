import { ApplicationFailure } from '@temporalio/activity';
import { openContent, sealContent, SealedContentError } from '../codec/sealed-content';
import {
  CONTENT_STORE_NAME,
  isStoredPrompt,
  parseContentReference,
  parsePromptText,
  serializePromptText,
  type ContentReference,
  type PromptContent,
  type PromptText,
} from '../domain/content-reference';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { StepName } from '../domain/step-names';
import { sha256Hex } from '../governance/sha256';
import { getRequestContent, putRequestContent } from '../store/request-content-repository';
import type { ActivityDependencies } from './activity-dependencies';

type ContentDependencies = Pick<ActivityDependencies, 'db' | 'contentKeys'>;

/**
 * One row per request and plaintext: the same text rendered again for the same request (an activity
 * retry, a Reset to before the step) lands on the same id and writes nothing. The run id takes no part,
 * as a Reset makes new runs of the same request.
 */
function contentIdFor(workflowId: string, sha256: string): string {
  return `rc-${sha256Hex(`${workflowId}\0${sha256}`)}`;
}

/**
 * Stores a rendered prompt sealed under the tenant's label and returns the reference history carries
 * instead of the text (docs/decisions/0026).
 */
export async function storePromptContent(
  deps: ContentDependencies,
  input: { tenantId: string; workflowId: string; step: StepName; prompt: PromptText; tokens: number },
): Promise<ContentReference> {
  const text = serializePromptText(input.prompt);
  const sha256 = sha256Hex(text);
  const contentId = contentIdFor(input.workflowId, sha256);
  const bytes = Buffer.byteLength(text, 'utf8');
  await putRequestContent(deps.db, {
    contentId,
    tenantId: input.tenantId,
    workflowId: input.workflowId,
    step: input.step,
    sha256,
    bytes,
    tokens: input.tokens,
    sealed: sealContent(deps.contentKeys, { tenantId: input.tenantId, contentId, text }),
  });
  return { store: CONTENT_STORE_NAME, contentId, sha256, bytes, tokens: input.tokens };
}

/**
 * Fails the step for good (retrying cannot make altered or missing content right); the worker logs the
 * failure and the request's record audits it with its type.
 */
function integrityFailure(reference: ContentReference, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `the stored prompt '${reference.contentId}' cannot be used: ${reason}; nothing was sent to a model`,
    FAILURE_TYPES.contentIntegrityFailed,
  );
}

/**
 * Loads a stored prompt for `tenantId` and checks it against its reference: it must exist, be sealed for
 * this tenant and content, decrypt, and hash to the reference's SHA-256 with its length. Anything else
 * throws `FAILURE_TYPES.contentIntegrityFailed`, non-retryable.
 */
export async function loadPromptContent(
  deps: ContentDependencies,
  tenantId: string,
  rawReference: ContentReference,
): Promise<PromptText> {
  const reference = parseContentReference(rawReference);
  const stored = await getRequestContent(deps.db, reference.contentId);
  if (stored === undefined) {
    throw integrityFailure(reference, 'it is not in the content store (removed, or deleted by retention)');
  }
  let text: string;
  try {
    text = openContent(deps.contentKeys, stored.sealed, { tenantId, contentId: reference.contentId });
  } catch (error) {
    if (error instanceof SealedContentError) throw integrityFailure(reference, error.message);
    throw error;
  }
  const sha256 = sha256Hex(text);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (sha256 !== reference.sha256 || bytes !== reference.bytes) {
    throw integrityFailure(
      reference,
      `its text hashes to ${sha256} (${bytes} bytes) where the reference says ${reference.sha256} (${reference.bytes} bytes)`,
    );
  }
  return parsePromptText(text);
}

/** The prompt's text, from history or from the content store. */
export async function promptTextOf(
  deps: ContentDependencies,
  tenantId: string,
  prompt: PromptContent,
): Promise<PromptText> {
  return isStoredPrompt(prompt) ? loadPromptContent(deps, tenantId, prompt.content) : prompt;
}
