import { z } from 'zod';
import { indexTerm } from './search-terms';

/**
 * Grounding of an answer: the share of its sentences that the chunks they cite support. A sentence is
 * supported when at least GROUNDING_THRESHOLD of its content words (stemmed, stop words dropped) occur
 * in one chunk of a document it cites as `[document id]`. A sentence that cites nothing, or only
 * documents that were not retrieved, is unsupported. Deterministic and linear in the texts, so it can
 * score a dataset or a live answer.
 */
export const GROUNDING_THRESHOLD = 0.7;

const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could do does for from has have how i if in into is it its ' +
    'me my no not of on or our so such than that the their them then there these they this those to ' +
    'too us was we were what when where which while who why will with would you your'
  ).split(' '),
);

const CITATION = /\[([^\]\s][^\]]{0,199})\]/g;

export const groundingExampleSchema = z.object({
  id: z.string().min(1),
  answer: z.string(),
  /** The chunks the answer was written from, as the prompt quoted them. */
  contexts: z.array(z.object({ documentId: z.string().min(1), text: z.string() })),
});
export type GroundingExample = z.infer<typeof groundingExampleSchema>;

export interface SentenceGrounding {
  sentence: string;
  citedDocumentIds: string[];
  /** The best share of the sentence's content words found in one cited chunk (0 when nothing is cited). */
  support: number;
  supported: boolean;
  /** Why an unsupported sentence is: `uncited`, `cites-unknown`, `weak-overlap`. */
  problem?: 'uncited' | 'cites-unknown' | 'weak-overlap';
}

export interface GroundingResult {
  id: string;
  sentences: SentenceGrounding[];
  /** Supported sentences / sentences; 1 for an answer with no sentence. */
  share: number;
}

function contentTerms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => !STOP_WORDS.has(word))
    .map((word) => indexTerm(word));
}

/** Sentences of an answer, citations kept with the sentence they close. */
export function answerSentences(answer: string): string[] {
  return (answer.match(/[^.!?\n]+(?:[.!?]+(?:\s*\[[^\]]+\])*|\n|$)/g) ?? [])
    .map((sentence) => sentence.trim())
    .filter((sentence) => contentTerms(sentence.replace(CITATION, ' ')).length > 0);
}

export function groundAnswer(example: GroundingExample): GroundingResult {
  const chunkTerms = example.contexts.map((context) => ({
    documentId: context.documentId,
    terms: new Set(contentTerms(context.text)),
  }));
  const retrieved = new Set(example.contexts.map((context) => context.documentId));
  const sentences = answerSentences(example.answer).map((sentence): SentenceGrounding => {
    const citedDocumentIds = [...new Set([...sentence.matchAll(CITATION)].map((match) => match[1]!.trim()))];
    const terms = [...new Set(contentTerms(sentence.replace(CITATION, ' ')))];
    if (citedDocumentIds.length === 0) {
      return { sentence, citedDocumentIds, support: 0, supported: false, problem: 'uncited' };
    }
    const cited = chunkTerms.filter((chunk) => citedDocumentIds.includes(chunk.documentId));
    if (cited.length === 0 || citedDocumentIds.every((id) => !retrieved.has(id))) {
      return { sentence, citedDocumentIds, support: 0, supported: false, problem: 'cites-unknown' };
    }
    let support = 0;
    for (const chunk of cited) {
      const found = terms.filter((term) => chunk.terms.has(term)).length;
      support = Math.max(support, terms.length === 0 ? 0 : found / terms.length);
    }
    const supported = support >= GROUNDING_THRESHOLD;
    return {
      sentence,
      citedDocumentIds,
      support,
      supported,
      ...(supported ? {} : { problem: 'weak-overlap' }),
    };
  });
  const supported = sentences.filter((sentence) => sentence.supported).length;
  return { id: example.id, sentences, share: sentences.length === 0 ? 1 : supported / sentences.length };
}

export interface GroundingReport {
  answers: number;
  sentences: number;
  supportedSentences: number;
  /** Supported sentences over all sentences of all answers. */
  sentenceShare: number;
  /** The mean of the answers' shares. */
  meanAnswerShare: number;
  /** Answers whose every sentence is supported. */
  fullyGroundedAnswers: number;
  problems: Record<NonNullable<SentenceGrounding['problem']>, number>;
  results: GroundingResult[];
}

export function groundingReport(examples: readonly GroundingExample[]): GroundingReport {
  const results = examples.map(groundAnswer);
  const all = results.flatMap((result) => result.sentences);
  const supportedSentences = all.filter((sentence) => sentence.supported).length;
  const problems = { uncited: 0, 'cites-unknown': 0, 'weak-overlap': 0 };
  for (const sentence of all) if (sentence.problem) problems[sentence.problem] += 1;
  return {
    answers: results.length,
    sentences: all.length,
    supportedSentences,
    sentenceShare: all.length === 0 ? 1 : supportedSentences / all.length,
    meanAnswerShare:
      results.length === 0 ? 1 : results.reduce((sum, result) => sum + result.share, 0) / results.length,
    fullyGroundedAnswers: results.filter((result) => result.share === 1).length,
    problems,
    results,
  };
}

export function formatGroundingReport(report: GroundingReport): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
  return [
    `answers                ${report.answers}`,
    `sentences              ${report.sentences}`,
    `supported sentences    ${report.supportedSentences} (${percent(report.sentenceShare)})`,
    `mean share per answer  ${percent(report.meanAnswerShare)}`,
    `fully grounded answers ${report.fullyGroundedAnswers} of ${report.answers}`,
    `unsupported: ${report.problems.uncited} uncited, ${report.problems['cites-unknown']} citing documents ` +
      `not retrieved, ${report.problems['weak-overlap']} not backed by the cited text ` +
      `(support < ${GROUNDING_THRESHOLD})`,
  ].join('\n');
}
