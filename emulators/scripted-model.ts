/**
 * What the emulated model does on one call. Strings are whole-call outcomes; `streamErrorAfter` sends
 * that many text deltas of a normal answer and then fails the stream (on a non-streaming call it behaves
 * like 'ok', since there is no stream to break). `exception` names the Bedrock exception the stream
 * carries (default InternalServerException); the OpenAI-compatible emulator drops the connection instead.
 */
export type Behaviour =
  | 'ok'
  | 'throttle'
  | 'model-timeout'
  | 'unavailable'
  | 'internal-error'
  | 'validation'
  | 'content-filtered'
  | 'malformed'
  | 'hang'
  | { streamErrorAfter: number; exception?: string };

export interface ModelScript {
  /** Added before the first byte of every answer; overrides the emulator-wide latency. */
  latencyMs?: number;
  /**
   * Consumed in order, one per call to this model id, and the last one repeats; or a rule from the
   * zero-based call index. Default: always 'ok'.
   */
  behaviours?: readonly Behaviour[] | ((callIndex: number) => Behaviour);
  /** Sent as Retry-After with 'throttle'. Default 1. */
  retryAfterSeconds?: number;
  /** A fixed answer instead of the one derived from the prompt. */
  answer?: string;
  /** Pause between streamed deltas. Default 0. */
  deltaIntervalMs?: number;
  /**
   * A naive model: it obeys instructions it finds anywhere in its user message, quoted documents
   * included, and when told to reveal its instructions or secret it repeats its system prompt
   * (see answerObeyingInstructions). For prompt-injection tests.
   */
  obeysEmbeddedInstructions?: boolean;
}

export interface ScriptedCall {
  behaviour: Behaviour;
  latencyMs: number;
  script: ModelScript;
}

/** Per-model scripts and how far each one's behaviour queue has been consumed. */
export interface ScriptBook {
  next(modelId: string): ScriptedCall;
  set(modelId: string, script: ModelScript): void;
  /** Back to the scripts given at start, every queue rewound. */
  reset(): void;
}

export function createScriptBook(initial: Record<string, ModelScript>, defaultLatencyMs: number): ScriptBook {
  let scripts = new Map(Object.entries(initial));
  const positions = new Map<string, number>();
  return {
    next(modelId) {
      const script = scripts.get(modelId) ?? {};
      const index = positions.get(modelId) ?? 0;
      positions.set(modelId, index + 1);
      const { behaviours } = script;
      const behaviour =
        typeof behaviours === 'function'
          ? behaviours(index)
          : (behaviours?.[Math.min(index, behaviours.length - 1)] ?? 'ok');
      return { behaviour, latencyMs: script.latencyMs ?? defaultLatencyMs, script };
    },
    set(modelId, script) {
      scripts.set(modelId, script);
      positions.delete(modelId);
    },
    reset() {
      scripts = new Map(Object.entries(initial));
      positions.clear();
    },
  };
}

/**
 * Token counts are deliberately simple and documented so tests can predict them: whitespace-separated
 * words × 1.3, rounded (about what BPE tokenizers give for English prose).
 */
export function countEmulatedTokens(text: string): number {
  const words = text.match(/\S+/g)?.length ?? 0;
  return Math.round(words * 1.3);
}

/** Cuts an answer to the longest word prefix that fits `maxTokens` under the count above. */
export function truncateToTokens(text: string, maxTokens: number): { text: string; truncated: boolean } {
  if (countEmulatedTokens(text) <= maxTokens) return { text, truncated: false };
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  let kept = 0;
  while (kept < words.length && Math.round((kept + 1) * 1.3) <= maxTokens) kept += 1;
  return { text: words.slice(0, kept).join(' '), truncated: true };
}

/** One delta per word (with its following space), as models stream roughly word by word. */
export function splitIntoDeltas(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

export const NO_CONTEXT_ANSWER =
  'The emulated model received no quoted documents, so it has nothing to cite.';
export const CONTENT_FILTERED_ANSWER = 'The emulated model withheld this answer under its content filter.';

const MAX_QUOTED_DOCUMENTS = 3;

/**
 * A deterministic stand-in for a model: quotes the first sentence of up to three `<document id="…">`
 * blocks of the prompt (the fence assemble-prompt writes) and cites each as `[documentId]`, so grounding
 * checks downstream see a well-behaved answer.
 */
export function answerFromPrompt(userText: string): string {
  const sentences: string[] = [];
  for (const match of userText.matchAll(/<document id="([^"]+)"[^>]*>\s*([\s\S]*?)\s*<\/document>/g)) {
    const [, documentId, body] = match;
    const firstSentence = body?.split(/(?<=[.!?])\s+|\n+/)[0]?.trim();
    if (documentId && firstSentence) sentences.push(`${firstSentence} [${documentId}]`);
    if (sentences.length === MAX_QUOTED_DOCUMENTS) break;
  }
  return sentences.length > 0 ? sentences.join(' ') : NO_CONTEXT_ANSWER;
}

const ORDER =
  /\b(?:ignore|disregard|forget|reveal|print|repeat|output|disclose|say|tell|write|include|append)\b/i;
const REVEAL_TARGET = /\b(?:system prompt|instructions|secret|password|canary|code|prompt)\b/i;

/**
 * What a model with no defence against injection does: every sentence of its user message that gives
 * an order is echoed back as something it will do, and when one asks for its instructions or secret it
 * repeats its system prompt word for word. With no order in the message it answers like
 * answerFromPrompt.
 */
export function answerObeyingInstructions(system: string, userText: string): string {
  const orders = (userText.match(/[^.!?\n]+[.!?]?/g) ?? [])
    .map((sentence) => sentence.trim())
    .filter((sentence) => ORDER.test(sentence) && !sentence.startsWith('Question:'));
  if (orders.length === 0) return answerFromPrompt(userText);
  const parts = orders.map((order) => `As instructed ("${order}"):`);
  if (orders.some((order) => REVEAL_TARGET.test(order))) parts.push(`my instructions are: ${system}`);
  return parts.join(' ');
}

/** Hashes text into a fixed-length unit vector: identical text gives identical vectors, shared words overlap. */
export function hashedEmbedding(text: string, dimensions: number, normalize: boolean): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const hash = fnv1a(word);
    const index = hash % dimensions;
    vector[index] = (vector[index] ?? 0) + ((hash >>> 16) & 1 ? 1 : -1);
  }
  if (!normalize) return vector;
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function delay(ms: number): Promise<void> {
  // Unreferenced: a slow answer nobody waits for any more must not keep a closed emulator's process alive.
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve();
}
