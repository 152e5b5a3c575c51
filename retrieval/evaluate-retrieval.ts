import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { z } from 'zod';
import { documentIdFor, upsertDocuments, type UpsertDocumentInput } from '../store/document-repository';
import { searchChunks, type SearchMode } from '../store/chunk-search';
import type { DataClass } from '../domain/data-class';
import type { Embedder } from './embedder';
import { type MetricSummary, type QuestionScores, scoreRanking, summarizeScores } from './retrieval-metrics';

/** One labelled question: its type (e.g. keyword, natural, paraphrased) and the documents that answer it. */
export const evaluationQuestionSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  question: z.string().min(1),
  /** External ids of the documents that answer the question. */
  relevant: z.array(z.string().min(1)).min(1),
  /** A passage of the first relevant document that answers it: the label's justification. */
  evidence: z.string().optional(),
});
export type EvaluationQuestion = z.infer<typeof evaluationQuestionSchema>;

/** One corpus document. */
export const corpusDocumentSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  text: z.string(),
  source: z.string().optional(),
});
export type CorpusDocument = z.infer<typeof corpusDocumentSchema>;

/** Reads a JSONL file with one schema-checked record per non-empty line; errors name the line. */
export function readJsonLines<T>(file: string, schema: z.ZodType<T>): T[] {
  const records: T[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (error) {
        throw new Error(`${file}:${index + 1}: not JSON (${(error as Error).message})`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(
          `${file}:${index + 1}: ${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      records.push(parsed.data);
    });
  return records;
}

export interface EvaluationScope {
  tenantId: string;
  groups: string[];
  clearance: DataClass;
}

/** The scope an evaluation corpus is loaded into: one tenant, readable by everyone in it. */
export const EVALUATION_SCOPE: EvaluationScope = {
  tenantId: 'eval',
  groups: ['everyone'],
  clearance: 'public',
};

/** Loads a corpus into `scope.tenantId` in batches (the tenant must exist). */
export async function ingestCorpus(
  db: Knex,
  documents: readonly CorpusDocument[],
  options: { scope?: EvaluationScope; embedder?: Embedder; batchSize?: number } = {},
): Promise<void> {
  const scope = options.scope ?? EVALUATION_SCOPE;
  const inputs: UpsertDocumentInput[] = documents.map((document) => ({
    tenantId: scope.tenantId,
    externalId: document.id,
    title: document.title,
    text: document.text,
    aclGroups: scope.groups,
    classification: 'public',
  }));
  const batchSize = options.batchSize ?? 50;
  for (let index = 0; index < inputs.length; index += batchSize) {
    await upsertDocuments(db, inputs.slice(index, index + batchSize), { embedder: options.embedder });
  }
}

export interface EvaluationConfiguration {
  name: string;
  mode: SearchMode;
  rerank: boolean;
}

export interface EvaluationReport {
  configuration: EvaluationConfiguration;
  overall: MetricSummary;
  byType: Record<string, MetricSummary>;
  questions: Array<{ id: string; type: string; ranked: string[]; scores: QuestionScores; latencyMs: number }>;
}

// Chunks fetched per question; distinct documents in hit order make the ranking that is scored.
const CHUNKS_PER_QUESTION = 30;

/** Runs every question through `searchChunks` as the retrieve step calls it and scores the documents found. */
export async function evaluateRetrieval(
  db: Knex,
  questions: readonly EvaluationQuestion[],
  configuration: EvaluationConfiguration,
  options: { scope?: EvaluationScope; embedder?: Embedder } = {},
): Promise<EvaluationReport> {
  const scope = options.scope ?? EVALUATION_SCOPE;
  const results: EvaluationReport['questions'] = [];
  for (const question of questions) {
    const started = performance.now();
    const hits = await searchChunks(
      db,
      {
        tenantId: scope.tenantId,
        query: question.question,
        groups: scope.groups,
        clearance: scope.clearance,
        topK: CHUNKS_PER_QUESTION,
        mode: configuration.mode,
        rerank: configuration.rerank,
      },
      { embedder: options.embedder },
    );
    const latencyMs = performance.now() - started;
    const ranked = [...new Set(hits.map((hit) => hit.documentId))];
    const relevant = question.relevant.map((id) => documentIdFor(scope.tenantId, id));
    results.push({
      id: question.id,
      type: question.type,
      ranked,
      scores: scoreRanking(ranked, relevant),
      latencyMs,
    });
  }
  const byType: Record<string, MetricSummary> = {};
  for (const type of [...new Set(results.map((result) => result.type))].sort()) {
    byType[type] = summarizeScores(results.filter((result) => result.type === type));
  }
  return { configuration, overall: summarizeScores(results), byType, questions: results };
}

/** The configurations the benchmark compares: BM25 alone, hybrid, hybrid with re-ranking. */
export const STANDARD_CONFIGURATIONS: readonly EvaluationConfiguration[] = [
  { name: 'bm25', mode: 'lexical', rerank: false },
  { name: 'vector', mode: 'vector', rerank: false },
  { name: 'hybrid', mode: 'hybrid', rerank: false },
  { name: 'hybrid+rerank', mode: 'hybrid', rerank: true },
];

/** A fixed-width table of reports: one row per configuration and query type. */
export function formatEvaluationTable(reports: ReadonlyArray<EvaluationReport & { store?: string }>): string {
  const header = [
    'store',
    'configuration',
    'questions',
    'type',
    'R@1',
    'R@5',
    'R@10',
    'MRR@10',
    'nDCG@10',
    'p50 ms',
    'p95 ms',
  ];
  const rows: string[][] = [];
  for (const report of reports) {
    for (const [type, summary] of [['all', report.overall] as const, ...Object.entries(report.byType)]) {
      rows.push([
        report.store ?? '',
        report.configuration.name,
        String(summary.questions),
        type,
        summary.recallAt1.toFixed(3),
        summary.recallAt5.toFixed(3),
        summary.recallAt10.toFixed(3),
        summary.mrrAt10.toFixed(3),
        summary.ndcgAt10.toFixed(3),
        summary.latencyP50Ms.toFixed(1),
        summary.latencyP95Ms.toFixed(1),
      ]);
    }
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
