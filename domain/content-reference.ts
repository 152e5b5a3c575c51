import { z } from 'zod';

/**
 * Rendered prompts at least this many UTF-8 bytes long go to the content store and travel through
 * history as a reference (docs/decisions/0026). Smaller ones stay inline: there the store's write and
 * read would cost more than the history bytes they save.
 */
export const CONTENT_BY_REFERENCE_MIN_BYTES = 32 * 1024;

/** The table a reference points into, named in the reference so a decoded history says where to look. */
export const CONTENT_STORE_NAME = 'request_contents';

/**
 * Large content the request path moves between steps, as history holds it: which stored row, and what
 * its plaintext must be (SHA-256 of the UTF-8 text, length, token count). The consuming activity loads
 * the row and checks the plaintext against this, so an edited row never reaches a model.
 */
export interface ContentReference {
  store: typeof CONTENT_STORE_NAME;
  contentId: string;
  /** Lower-case hex SHA-256 of the plaintext's UTF-8 bytes. */
  sha256: string;
  bytes: number;
  tokens: number;
}

/** The rendered prompt's two messages. */
export interface PromptText {
  system: string;
  user: string;
}

/** A rendered prompt as it crosses history: its text, or a reference to its text in the content store. */
export type PromptContent = PromptText | { content: ContentReference };

export function isStoredPrompt(prompt: PromptContent): prompt is { content: ContentReference } {
  return 'content' in prompt;
}

let referenceSchema: z.ZodType<ContentReference> | undefined;

/** Checks a reference read from history; built on first use, as workflow code re-runs module tops. */
export function parseContentReference(value: unknown): ContentReference {
  referenceSchema ??= z.object({
    store: z.literal(CONTENT_STORE_NAME),
    contentId: z.string().regex(/^rc-[0-9a-f]{64}$/),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    tokens: z.number().int().nonnegative(),
  });
  return referenceSchema.parse(value);
}

/** The prompt's two messages as one text, the unit the store keeps, hashes and counts. */
export function serializePromptText(prompt: PromptText): string {
  return JSON.stringify({ system: prompt.system, user: prompt.user });
}

let promptTextSchema: z.ZodType<PromptText> | undefined;

export function parsePromptText(text: string): PromptText {
  promptTextSchema ??= z.object({ system: z.string(), user: z.string() });
  return promptTextSchema.parse(JSON.parse(text));
}

/** What of an assembled prompt goes on to the steps that use it: its text, or only its reference. */
export function promptContentOf(prompt: PromptContent): PromptContent {
  return isStoredPrompt(prompt) ? { content: prompt.content } : { system: prompt.system, user: prompt.user };
}
