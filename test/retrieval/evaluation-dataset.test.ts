import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  corpusDocumentSchema,
  evaluationQuestionSchema,
  readJsonLines,
} from '../../retrieval/evaluate-retrieval';
import { extractSearchTerms, indexTerm } from '../../retrieval/search-terms';

const DATASETS = path.resolve(__dirname, '../../bench/datasets');
const documents = readJsonLines(path.join(DATASETS, 'postgresql-15-docs.jsonl'), corpusDocumentSchema);
const questions = readJsonLines(
  path.join(DATASETS, 'postgresql-15-questions.jsonl'),
  evaluationQuestionSchema,
);
const byId = new Map(documents.map((document) => [document.id, document]));

const contentTerms = (text: string) => new Set(extractSearchTerms(text).map(indexTerm));

describe('the retrieval evaluation set', () => {
  it('has at least 100 questions, a third of them paraphrased, each labelled with corpus documents', () => {
    expect(questions.length).toBeGreaterThanOrEqual(100);
    const paraphrased = questions.filter((question) => question.type === 'paraphrased');
    expect(paraphrased.length * 3).toBeGreaterThanOrEqual(questions.length);
    expect(new Set(questions.map((question) => question.id)).size).toBe(questions.length);
    for (const question of questions) {
      for (const id of question.relevant)
        expect({ question: question.id, id, known: byId.has(id) }).toMatchObject({ known: true });
    }
  });

  it('justifies every label: the evidence is a verbatim passage of the first relevant document', () => {
    for (const question of questions) {
      const document = byId.get(question.relevant[0] as string);
      expect({
        question: question.id,
        found: document?.text.includes(question.evidence ?? '\u0000'),
      }).toEqual({
        question: question.id,
        found: true,
      });
    }
  });

  it('keeps paraphrased questions away from their answer: at most a third of their words are in the evidence', () => {
    const overlaps = questions
      .filter((question) => question.type === 'paraphrased')
      .map((question) => {
        const asked = contentTerms(question.question);
        const answer = contentTerms(question.evidence ?? '');
        const shared = [...asked].filter((term) => answer.has(term));
        return { id: question.id, share: shared.length / asked.size, shared };
      });
    for (const overlap of overlaps)
      expect({ ...overlap, atMostAThird: overlap.share <= 1 / 3 }).toMatchObject({ atMostAThird: true });
    const natural = questions.filter((question) => question.type !== 'paraphrased');
    const naturalShare =
      natural.reduce((sum, question) => {
        const asked = contentTerms(question.question);
        const answer = contentTerms(byId.get(question.relevant[0] as string)?.text ?? '');
        return sum + [...asked].filter((term) => answer.has(term)).length / Math.max(1, asked.size);
      }, 0) / natural.length;
    const paraphrasedShare =
      overlaps.reduce((sum, overlap) => sum + overlap.share, 0) / Math.max(1, overlaps.length);
    // The contrast the set exists for: the other questions mostly use their document's own words.
    expect(naturalShare).toBeGreaterThan(0.5);
    expect(paraphrasedShare).toBeLessThan(0.2);
  });

  it('ships the corpus licence next to it', () => {
    expect(readFileSync(path.join(DATASETS, 'POSTGRESQL-DOCS-LICENSE'), 'utf8')).toMatch(
      /Permission to use, copy, modify, and distribute this software and\s+its documentation/,
    );
    expect(documents.length).toBeGreaterThanOrEqual(150);
  });
});
