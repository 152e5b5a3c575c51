import type { InferenceRequest, InferenceResponse, RetrievedChunk } from '../domain/step-contracts';
import type { GenerateOptions, ModelProvider } from './model-provider';
import { findInstructionSignals } from '../retrieval/instruction-signals';
import type { TokenCounter } from './token-counter';

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can do does for from has have how i if in into is it its me my of on or our ' +
    'please should so than that the their them then there these they this to us was we were what when where ' +
    'which who why will with would you your about tell explain'
  ).split(' '),
);

const MAX_SENTENCES = 3;
export const NO_ANSWER_TEXT = 'None of the documents available to you answers this question.';

/** Crude stemming is enough here: it only has to make "refunds" meet "refund". */
function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 3 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

export function contentTerms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => !STOP_WORDS.has(word))
    .map(stem);
}

function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

interface ScoredSentence {
  text: string;
  chunk: RetrievedChunk;
  score: number;
  order: number;
}

/**
 * Scores every sentence of the context by the inverse-document-frequency weight of the question terms
 * it contains, with a small preference for better-ranked chunks. Instruction-like sentences are never quoted.
 */
export function selectSentences(question: string, chunks: RetrievedChunk[], limit: number): ScoredSentence[] {
  const questionTerms = new Set(contentTerms(question));
  const sentences = chunks.flatMap((chunk, chunkRank) =>
    // A sentence that speaks to the model is withheld here as in every prompt (docs/decisions/0023).
    splitSentences(chunk.text)
      .filter((text) => findInstructionSignals(text).length === 0)
      .map((text, index) => ({
        text,
        chunk,
        chunkRank,
        order: chunkRank * 10_000 + index,
        terms: new Set(contentTerms(text)),
      })),
  );
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of sentence.terms) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const scored: ScoredSentence[] = [];
  for (const sentence of sentences) {
    let score = 0;
    for (const term of questionTerms) {
      if (sentence.terms.has(term)) {
        score += Math.log(1 + sentences.length / (documentFrequency.get(term) ?? 1));
      }
    }
    if (score > 0) {
      scored.push({
        text: sentence.text,
        chunk: sentence.chunk,
        order: sentence.order,
        score: score / (1 + 0.1 * sentence.chunkRank),
      });
    }
  }
  return scored.sort((left, right) => right.score - left.score || left.order - right.order).slice(0, limit);
}

/**
 * The offline route: answers by quoting the most relevant sentences of the retrieved context and citing
 * their documents. Deterministic and network-free; it never invents text, so it is also the degraded
 * route of last resort. Every response names it for what it is (see the route's label).
 */
export function createExtractiveProvider(tokenCounter: TokenCounter): ModelProvider {
  return {
    name: 'extractive',
    async generate(request: InferenceRequest, options: GenerateOptions = {}): Promise<InferenceResponse> {
      const started = performance.now();
      const picked = selectSentences(request.question, request.chunks, MAX_SENTENCES);
      const parts: string[] = [];
      const cited: string[] = [];
      let finishReason: InferenceResponse['finishReason'] = 'stop';
      // Keep the original reading order of the picked sentences so the answer reads naturally.
      for (const sentence of [...picked].sort((left, right) => left.order - right.order)) {
        const candidate = [...parts, `${sentence.text} [${sentence.chunk.documentId}]`].join(' ');
        if (tokenCounter.count(candidate) > request.maxOutputTokens) {
          finishReason = 'length';
          break;
        }
        const piece = `${sentence.text} [${sentence.chunk.documentId}]`;
        // Streams sentence by sentence: the same text, delivered as it is chosen.
        if (request.responseFormat === 'text') options.onDelta?.(parts.length === 0 ? piece : ` ${piece}`);
        parts.push(piece);
        if (!cited.includes(sentence.chunk.documentId)) cited.push(sentence.chunk.documentId);
      }
      const answer = parts.length > 0 ? parts.join(' ') : NO_ANSWER_TEXT;
      const text = request.responseFormat === 'json' ? JSON.stringify({ answer, citations: cited }) : answer;
      if (request.responseFormat === 'json' || parts.length === 0) options.onDelta?.(text);
      return {
        text,
        citedDocumentIds: cited,
        finishReason,
        usage: {
          inputTokens: tokenCounter.count(request.prompt.system) + tokenCounter.count(request.prompt.user),
          outputTokens: tokenCounter.count(text),
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
        },
        latencyMs: performance.now() - started,
      };
    },
  };
}
