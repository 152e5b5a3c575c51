import path from 'node:path';
import {
  answerSentences,
  groundAnswer,
  groundingReport,
  groundingExampleSchema,
} from '../../retrieval/grounding';
import { readJsonLines } from '../../retrieval/evaluate-retrieval';
import { readSettings } from '../../config/environment';
import { runCli } from '../support/run-cli';

const FIXTURE = path.resolve(__dirname, '../fixtures/grounding-sample.jsonl');
const context = {
  documentId: 'kb/refunds',
  text: 'Customers can request a full refund within 30 days of purchase. Refunds are issued within 5 to 7 business days.',
};

describe('groundAnswer', () => {
  it.each([
    [
      'a sentence repeating its cited chunk',
      'Customers can request a full refund within 30 days [kb/refunds].',
      true,
      undefined,
    ],
    [
      'the same claim, inflected',
      'A full refund is requested by customers within 30 days [kb/refunds].',
      true,
      undefined,
    ],
    [
      'a claim the cited chunk does not make',
      'Refunds are paid in gold bars to loyal customers [kb/refunds].',
      false,
      'weak-overlap',
    ],
    ['a sentence citing nothing', 'Customers can request a full refund within 30 days.', false, 'uncited'],
    [
      'a sentence citing a document that was not retrieved',
      'Customers get refunds [kb/other].',
      false,
      'cites-unknown',
    ],
  ])('%s', (_name, answer, supported, problem) => {
    const [sentence] = groundAnswer({ id: 'x', answer, contexts: [context] }).sentences;
    expect(sentence?.supported).toBe(supported);
    expect(sentence?.problem).toBe(problem);
  });

  it('keeps citations with the sentence they close and skips empty fragments', () => {
    expect(answerSentences('One fact [a]. Second fact! [b] [c]\n\n— [d]')).toEqual([
      'One fact [a].',
      'Second fact! [b] [c]',
    ]);
  });

  it('scores the share of supported sentences per answer and overall', () => {
    const report = groundingReport(readJsonLines(FIXTURE, groundingExampleSchema));
    expect(report.results.map((result) => [result.id, result.share])).toEqual([
      ['refund-grounded', 1],
      ['shipping-mixed', 1 / 3],
      ['warranty-wrong-source', 0],
    ]);
    expect(report).toMatchObject({
      answers: 3,
      sentences: 6,
      supportedSentences: 3,
      sentenceShare: 0.5,
      fullyGroundedAnswers: 1,
      problems: { uncited: 1, 'cites-unknown': 1, 'weak-overlap': 1 },
    });
  });
});

describe('gatehouse eval grounding', () => {
  it('prints the report and exits 0', async () => {
    const run = await runCli(readSettings({}), 'eval', 'grounding', '--dataset', FIXTURE);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('supported sentences    3 (50.0 %)');
    expect(run.stdout).toContain('fully grounded answers 1 of 3');
  });
});
