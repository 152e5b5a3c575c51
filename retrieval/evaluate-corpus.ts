import type { Knex } from 'knex';
import { upsertTenant } from '../store/tenant-repository';
import type { Embedder } from './embedder';
import {
  corpusDocumentSchema,
  EVALUATION_SCOPE,
  evaluateRetrieval,
  evaluationQuestionSchema,
  ingestCorpus,
  readJsonLines,
  type CorpusDocument,
  type EvaluationConfiguration,
  type EvaluationQuestion,
  type EvaluationReport,
  type EvaluationScope,
} from './evaluate-retrieval';

/** A labelled evaluation set as files: the documents (JSONL: id, title, text) and the questions about them. */
export function readCorpusFile(file: string): CorpusDocument[] {
  return readJsonLines(file, corpusDocumentSchema);
}

/** Labelled questions (JSONL: id, type, question, relevant[]). */
export function readQuestionsFile(file: string): EvaluationQuestion[] {
  return readJsonLines(file, evaluationQuestionSchema);
}

/** One report per configuration, in order, each scoring every question in `scope`. */
export async function evaluateConfigurations(
  db: Knex,
  questions: readonly EvaluationQuestion[],
  configurations: readonly EvaluationConfiguration[],
  options: { scope?: EvaluationScope; embedder?: Embedder } = {},
): Promise<EvaluationReport[]> {
  const reports: EvaluationReport[] = [];
  for (const configuration of configurations) {
    reports.push(await evaluateRetrieval(db, questions, configuration, options));
  }
  return reports;
}

/**
 * Loads `documents` into the scope's tenant (created here as the evaluation tenant) and scores each
 * configuration on `questions`: the run on a scratch database behind `gatehouse eval retrieval --corpus`
 * and the retrieval benchmark's quality table.
 */
export async function evaluateCorpus(
  db: Knex,
  input: {
    documents: readonly CorpusDocument[];
    questions: readonly EvaluationQuestion[];
    configurations: readonly EvaluationConfiguration[];
    scope?: EvaluationScope;
    embedder?: Embedder;
  },
): Promise<EvaluationReport[]> {
  const { scope = EVALUATION_SCOPE, embedder } = input;
  await upsertTenant(db, { id: scope.tenantId, name: 'evaluation', status: 'active', tier: 'team' });
  await ingestCorpus(db, input.documents, { scope, embedder });
  return evaluateConfigurations(db, input.questions, input.configurations, { scope, embedder });
}
