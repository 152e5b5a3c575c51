// Long by design: the R1-R3 scenarios share one synthetic corpus, its loader and its report.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { DataClass } from '../domain/data-class';
import { seededRandom } from '../domain/seeded-random';
import type { Embedder } from '../retrieval/embedder';
import {
  evaluateConfigurations,
  evaluateCorpus,
  readCorpusFile,
  readQuestionsFile,
} from '../retrieval/evaluate-corpus';
import {
  corpusDocumentSchema,
  EVALUATION_SCOPE,
  type EvaluationConfiguration,
  formatEvaluationTable,
  STANDARD_CONFIGURATIONS,
  type EvaluationReport,
} from '../retrieval/evaluate-retrieval';
import { defaultEmbedder } from '../retrieval/static-embedder';
import { sharedTransformerEmbedder, TransformerModelError } from '../retrieval/transformer-embedder';
import { upsertDocuments, type UpsertDocumentInput } from '../store/document-repository';
import { searchChunksDetailed, type SearchMode } from '../store/chunk-search';
import { openScratchDatabase } from '../store/scratch-database';
import { upsertTenant } from '../store/tenant-repository';
import { round, summarize, type Summary } from './statistics';

/**
 * R1, R2, R3 of BENCHMARKS.md and retrieval quality: a deterministic synthetic corpus of ≥ 100k chunks
 * for speed (its words drawn, Zipf-distributed, from the real evaluation corpus), and the labelled
 * PostgreSQL-manual questions for quality, on SQLite and — with DATABASE_URL — PostgreSQL, in one run.
 */
export type RetrievalScenario = 'R1' | 'R2' | 'R3';

export interface RetrievalBenchOptions {
  scenarios: RetrievalScenario[];
  databaseUrl?: string;
  /** Chunks in the synthetic corpus (default 100,000). */
  chunks: number;
  /** Timed searches per configuration (default 300). */
  queries: number;
  log: (line: string) => void;
}

const DATASETS = path.resolve(__dirname, 'datasets');
const TENANT = 'bench';
const GROUPS = ['everyone', 'support', 'finance', 'legal'];
const CALLER = { groups: ['support', 'finance'], clearance: 'confidential' as DataClass };
// Documents of ~6,000 characters cut into ~8 chunks, like a manual page.
const PARAGRAPHS_PER_DOCUMENT = 9;
const BATCH_DOCUMENTS = 50;
const SEED = 20261202;

interface StoreResult {
  store: 'sqlite' | 'postgres';
  chunks: number;
  documents: number;
  ingestion?: {
    seconds: number;
    chunksPerSecond: number;
    firstTenthChunksPerSecond: number;
    lastTenthChunksPerSecond: number;
    embedderShare: number;
    /** Chunks per second of this process's CPU time: what the code costs, whatever else the cores run. */
    chunksPerCpuSecond: number;
  };
  coldIndexLoadMs?: number;
  search: Record<
    string,
    { latency: Summary; cpuMsPerSearch: number; parts: Record<string, number>; meanHits: number }
  >;
  quality?: EvaluationReport[];
  /** The opt-in full MiniLM-L6 transformer's evaluation corpus ingestion, or why its rows are missing. */
  transformer?: { model: string; chunks: number; seconds: number; msPerChunk: number } | { skipped: string };
}

// The full transformer's rows: its vectors alone, and fused with BM25 as searchChunks fuses them.
const TRANSFORMER_CONFIGURATIONS: readonly EvaluationConfiguration[] = [
  { name: 'minilm-l6 vector', mode: 'vector', rerank: false },
  { name: 'minilm-l6 hybrid', mode: 'hybrid', rerank: false },
];
const TRANSFORMER_SCOPE = { ...EVALUATION_SCOPE, tenantId: 'eval-minilm' };

/** Words of the real corpus, most frequent first, and a Zipf sampler over them. */
function vocabulary(): { words: string[]; sample: (random: () => number) => string } {
  const counts = new Map<string, number>();
  for (const line of readFileSync(path.join(DATASETS, 'postgresql-15-docs.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { text } = corpusDocumentSchema.parse(JSON.parse(line));
    for (const word of text.toLowerCase().match(/[a-z][a-z_]{1,20}/g) ?? []) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const words = [...counts.entries()]
    .sort((left, right) => right[1] - left[1] || (left[0] < right[0] ? -1 : 1))
    .map(([word]) => word);
  // Cumulative Zipf weights 1/rank: binary search turns a uniform number into a word.
  const cumulative = new Float64Array(words.length);
  let total = 0;
  words.forEach((_, index) => {
    total += 1 / (index + 1);
    cumulative[index] = total;
  });
  return {
    words,
    sample(random) {
      const target = random() * total;
      let low = 0;
      let high = words.length - 1;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((cumulative[middle] as number) < target) low = middle + 1;
        else high = middle;
      }
      return words[low] as string;
    },
  };
}

function syntheticDocuments(count: number): UpsertDocumentInput[] {
  const random = seededRandom(SEED);
  const { sample } = vocabulary();
  const sentence = () => {
    const length = 8 + Math.floor(random() * 14);
    const words = Array.from({ length }, () => sample(random));
    return `${(words[0] as string).charAt(0).toUpperCase()}${(words[0] as string).slice(1)} ${words.slice(1).join(' ')}.`;
  };
  const documents: UpsertDocumentInput[] = [];
  for (let index = 0; index < count; index += 1) {
    const paragraphs = Array.from({ length: PARAGRAPHS_PER_DOCUMENT }, () =>
      Array.from({ length: 4 + Math.floor(random() * 3) }, sentence).join(' '),
    );
    documents.push({
      tenantId: TENANT,
      externalId: `synthetic-${index}`,
      title: `${sample(random)} ${sample(random)} ${sample(random)}`,
      text: paragraphs.join('\n\n'),
      aclGroups: [GROUPS[Math.floor(random() * GROUPS.length)] as string],
      classification: (['public', 'internal', 'confidential', 'restricted'] as const)[
        Math.floor(random() * 4)
      ] as DataClass,
    });
  }
  return documents;
}

function syntheticQueries(count: number): string[] {
  const random = seededRandom(SEED + 1);
  const { words } = vocabulary();
  // Question-like queries over mid-frequency words, plus a common one: the shape that made every query
  // match ~40 % of the corpus before.
  const openers = ['How do I', 'What is the', 'Why does', 'When should I use', 'Can I change the'];
  return Array.from({ length: count }, () => {
    const terms = Array.from(
      { length: 2 + Math.floor(random() * 3) },
      () => words[20 + Math.floor(random() * 3000)] as string,
    );
    const common = words[Math.floor(random() * 20)] as string;
    return `${openers[Math.floor(random() * openers.length)]} ${terms.join(' ')} ${common}?`;
  });
}

/** Wraps an embedder to measure the time spent inside it. */
function timedEmbedder(inner: Embedder): Embedder & { elapsedMs: () => number } {
  let elapsed = 0;
  return {
    model: inner.model,
    version: inner.version,
    dimensions: inner.dimensions,
    elapsedMs: () => elapsed,
    async embed(texts) {
      const started = performance.now();
      try {
        return await inner.embed(texts);
      } finally {
        elapsed += performance.now() - started;
      }
    },
  };
}

async function ingestSynthetic(
  db: Knex,
  documents: UpsertDocumentInput[],
  targetChunks: number,
  log: (line: string) => void,
): Promise<{ result: StoreResult['ingestion']; chunks: number; documents: number }> {
  const embedder = timedEmbedder(defaultEmbedder());
  const marks: Array<{ chunks: number; ms: number }> = [{ chunks: 0, ms: 0 }];
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let chunks = 0;
  let used = 0;
  while (chunks < targetChunks && used < documents.length) {
    const batch = documents.slice(used, used + BATCH_DOCUMENTS);
    used += batch.length;
    const results = await upsertDocuments(db, batch, { embedder });
    chunks += results.reduce((sum, result) => sum + result.chunkCount, 0);
    marks.push({ chunks, ms: performance.now() - started });
    if (marks.length % 40 === 0)
      log(`  ingested ${chunks} chunks (${round(chunks / ((performance.now() - started) / 1000))} chunks/s)`);
  }
  const totalMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const rateBetween = (fromChunks: number, toChunks: number) => {
    const from = marks.find((mark) => mark.chunks >= fromChunks) as { chunks: number; ms: number };
    const to = [...marks].reverse().find((mark) => mark.chunks <= toChunks) as { chunks: number; ms: number };
    return ((to.chunks - from.chunks) / (to.ms - from.ms)) * 1000;
  };
  return {
    chunks,
    documents: used,
    result: {
      seconds: totalMs / 1000,
      chunksPerSecond: (chunks / totalMs) * 1000,
      firstTenthChunksPerSecond: rateBetween(0, chunks / 10),
      lastTenthChunksPerSecond: rateBetween(chunks * 0.9, chunks),
      embedderShare: embedder.elapsedMs() / totalMs,
      chunksPerCpuSecond: chunks / ((cpu.user + cpu.system) / 1e6),
    },
  };
}

async function timeSearches(
  db: Knex,
  queries: string[],
  mode: SearchMode,
  rerank: boolean,
): Promise<StoreResult['search'][string]> {
  const search = (query: string) =>
    searchChunksDetailed(db, { tenantId: TENANT, query, ...CALLER, topK: 10, mode, rerank });
  for (const query of queries.slice(0, 20)) await search(query);
  const latencies: number[] = [];
  const parts: Record<string, number[]> = {};
  let hits = 0;
  // CPU time of this process (a SQLite search runs entirely in it): less sensitive than wall time to
  // other work on a shared machine.
  const cpuBefore = process.cpuUsage();
  for (const query of queries) {
    const started = performance.now();
    const result = await search(query);
    latencies.push(performance.now() - started);
    hits += result.hits.length;
    for (const [part, ms] of Object.entries(result.timingsMs)) (parts[part] ??= []).push(ms);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    latency: summarize(latencies),
    cpuMsPerSearch: (cpu.user + cpu.system) / 1000 / queries.length,
    parts: Object.fromEntries(
      Object.entries(parts).map(([part, values]) => [part, round(summarize(values).p50, 2)]),
    ),
    meanHits: hits / queries.length,
  };
}

async function runStore(store: 'sqlite' | 'postgres', options: RetrievalBenchOptions): Promise<StoreResult> {
  const { log } = options;
  const scratch = await openScratchDatabase({
    databaseUrl: store === 'postgres' ? options.databaseUrl : undefined,
  });
  const result: StoreResult = { store, chunks: 0, documents: 0, search: {} };
  try {
    log(`${store}: quality on the PostgreSQL 15 manual (108 labelled questions)`);
    result.quality = await evaluateCorpus(scratch.db, {
      documents: readCorpusFile(path.join(DATASETS, 'postgresql-15-docs.jsonl')),
      questions: readQuestionsFile(path.join(DATASETS, 'postgresql-15-questions.jsonl')),
      configurations: STANDARD_CONFIGURATIONS,
    });
    await evaluateTransformer(scratch.db, result, log);

    const wantsSpeed = options.scenarios.some((scenario) => scenario === 'R1' || scenario === 'R2');
    if (!wantsSpeed && !options.scenarios.includes('R3')) return result;
    await upsertTenant(scratch.db, { id: TENANT, name: 'benchmark', status: 'active', tier: 'team' });
    // ~8 chunks per document; generate a margin so the chunk target is always reached.
    const documents = syntheticDocuments(Math.ceil(options.chunks / 7));
    log(`${store}: ingesting ≥ ${options.chunks} synthetic chunks with ${defaultEmbedder().model}`);
    const ingested = await ingestSynthetic(scratch.db, documents, options.chunks, log);
    result.chunks = ingested.chunks;
    result.documents = ingested.documents;
    result.ingestion = ingested.result;
    log(`${store}: ${ingested.chunks} chunks in ${round(ingested.result!.seconds)} s`);
    if (!wantsSpeed) return result;

    // The first search loads the tenant's index (a new worker's first query); measured on its own.
    const queries = syntheticQueries(options.queries);
    const coldStarted = performance.now();
    await searchChunksDetailed(scratch.db, {
      tenantId: TENANT,
      query: queries[0] as string,
      ...CALLER,
      topK: 10,
    });
    result.coldIndexLoadMs = performance.now() - coldStarted;
    const configurations: Array<{
      name: string;
      scenario: RetrievalScenario;
      mode: SearchMode;
      rerank: boolean;
    }> = [
      { name: 'lexical', scenario: 'R1', mode: 'lexical', rerank: false },
      { name: 'hybrid', scenario: 'R2', mode: 'hybrid', rerank: false },
      { name: 'hybrid+rerank', scenario: 'R2', mode: 'hybrid', rerank: true },
    ];
    for (const configuration of configurations.filter((entry) =>
      options.scenarios.includes(entry.scenario),
    )) {
      log(`${store}: ${options.queries} ${configuration.name} searches at ${ingested.chunks} chunks`);
      result.search[configuration.name] = await timeSearches(
        scratch.db,
        queries,
        configuration.mode,
        configuration.rerank,
      );
    }
    return result;
  } finally {
    await scratch.destroy();
  }
}

/**
 * The full-transformer rows, when `npm run model:fetch-minilm` has fetched the model: the corpus is
 * ingested again into its own tenant with those vectors (seconds per hundred chunks, not milliseconds).
 */
async function evaluateTransformer(
  db: Knex,
  result: StoreResult,
  log: (line: string) => void,
): Promise<void> {
  let embedder;
  try {
    embedder = await sharedTransformerEmbedder();
  } catch (error) {
    if (!(error instanceof TransformerModelError)) throw error;
    result.transformer = { skipped: error.message };
    log(`${result.store}: minilm-l6 rows skipped: ${error.message}`);
    return;
  }
  log(`${result.store}: ingesting the manual with ${embedder.model} (the full transformer)`);
  const questions = readQuestionsFile(path.join(DATASETS, 'postgresql-15-questions.jsonl'));
  const started = performance.now();
  // Ingestion alone is timed: no configuration is scored here.
  await evaluateCorpus(db, {
    documents: readCorpusFile(path.join(DATASETS, 'postgresql-15-docs.jsonl')),
    questions,
    configurations: [],
    scope: TRANSFORMER_SCOPE,
    embedder,
  });
  const seconds = (performance.now() - started) / 1000;
  const [{ chunks }] = (await db('chunks').where('tenant_id', TRANSFORMER_SCOPE.tenantId).count({
    chunks: '*',
  })) as [{ chunks: number | string }];
  result.transformer = {
    model: `${embedder.model} v${embedder.version}`,
    chunks: Number(chunks),
    seconds,
    msPerChunk: (seconds * 1000) / Number(chunks),
  };
  (result.quality ??= []).push(
    ...(await evaluateConfigurations(db, questions, TRANSFORMER_CONFIGURATIONS, {
      scope: TRANSFORMER_SCOPE,
      embedder,
    })),
  );
}

export interface RetrievalBenchResult {
  machine: { cpus: number; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: Omit<RetrievalBenchOptions, 'log' | 'databaseUrl'>;
  embedder: { model: string; version: string; dimensions: number };
  stores: StoreResult[];
  verdicts: Record<string, string>;
}

export async function runRetrievalBenchmarks(options: RetrievalBenchOptions): Promise<RetrievalBenchResult> {
  const loadAverageAtStart = os.loadavg();
  options.log(`load average at start: ${loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}`);
  const stores: StoreResult[] = [await runStore('sqlite', options)];
  if (options.databaseUrl) stores.push(await runStore('postgres', options));
  else options.log('DATABASE_URL is not set: PostgreSQL figures skipped');
  const embedder = defaultEmbedder();
  return {
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
    },
    options: { scenarios: options.scenarios, chunks: options.chunks, queries: options.queries },
    embedder: { model: embedder.model, version: embedder.version, dimensions: embedder.dimensions },
    stores,
    verdicts: retrievalVerdicts(stores),
  };
}

function retrievalVerdicts(stores: StoreResult[]): Record<string, string> {
  const verdicts: Record<string, string> = {};
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const sqlite = stores.find((store) => store.store === 'sqlite');
  const postgres = stores.find((store) => store.store === 'postgres');
  const lexical = sqlite?.search['lexical'];
  if (lexical)
    verdicts['R1'] =
      `SQLite lexical p50 ${round(lexical.latency.p50)} ms ≤ 10, p95 ${round(lexical.latency.p95)} ms ≤ 30: ${met(lexical.latency.p50 <= 10 && lexical.latency.p95 <= 30)}`;
  const hybrid = sqlite?.search['hybrid'];
  if (hybrid)
    verdicts['R2'] =
      `SQLite hybrid p50 ${round(hybrid.latency.p50)} ms ≤ 30, p95 ${round(hybrid.latency.p95)} ms ≤ 80: ${met(hybrid.latency.p50 <= 30 && hybrid.latency.p95 <= 80)}`;
  const ingestion = sqlite?.ingestion;
  if (ingestion)
    verdicts['R3'] =
      `SQLite ingestion ${Math.round(ingestion.chunksPerSecond)} chunks/s (last tenth ${Math.round(ingestion.lastTenthChunksPerSecond)}) ≥ 2,000: ${met(ingestion.chunksPerSecond >= 2000 && ingestion.lastTenthChunksPerSecond >= 2000)}`;
  // The configuration searchChunks runs by default (hybrid, no re-ranking), then the opt-in transformer's.
  for (const name of ['hybrid', ...TRANSFORMER_CONFIGURATIONS.map((configuration) => configuration.name)]) {
    const find = (store: StoreResult | undefined) =>
      store?.quality?.find((report) => report.configuration.name === name);
    const quality = find(sqlite);
    if (!quality) continue;
    const key = name === 'hybrid' ? 'quality' : `quality ${name}`;
    const paraphrased = quality.byType['paraphrased'];
    verdicts[key] =
      `SQLite ${quality.configuration.name}: nDCG@10 ${quality.overall.ndcgAt10.toFixed(3)} ≥ 0.85: ${met(quality.overall.ndcgAt10 >= 0.85)}; ` +
      `recall@5 ${quality.overall.recallAt5.toFixed(3)} ≥ 0.90: ${met(quality.overall.recallAt5 >= 0.9)}; ` +
      `paraphrased recall@5 ${paraphrased?.recallAt5.toFixed(3) ?? '-'} ≥ 0.60: ${met((paraphrased?.recallAt5 ?? 0) >= 0.6)}`;
    const pg = find(postgres);
    if (pg) {
      const gap = quality.overall.ndcgAt10 - pg.overall.ndcgAt10;
      verdicts[name === 'hybrid' ? 'quality-postgres' : `quality-postgres ${name}`] =
        `PostgreSQL ${name} nDCG@10 ${pg.overall.ndcgAt10.toFixed(3)}, ${gap.toFixed(3)} below SQLite (≤ 0.02): ${met(gap <= 0.02)}`;
    }
  }
  return verdicts;
}

/** The tables the benchmark prints. */
export function formatRetrievalResults(result: RetrievalBenchResult): string {
  const lines: string[] = [];
  lines.push(
    `Embedder: ${result.embedder.model} v${result.embedder.version} (${result.embedder.dimensions} dimensions)`,
  );
  lines.push('\nQuality on the PostgreSQL 15 manual (164 pages, 108 questions; distinct documents ranked):');
  lines.push(
    formatEvaluationTable(
      result.stores.flatMap((store) =>
        (store.quality ?? []).map((report) => ({ ...report, store: store.store })),
      ),
    ),
  );
  const header = [
    'store',
    'chunks',
    'search',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'cpu ms',
    'hits',
    'p50 parts (sync/lexical/vector/fetch/rank ms)',
  ];
  const rows: string[][] = [];
  for (const store of result.stores) {
    for (const [name, entry] of Object.entries(store.search)) {
      rows.push([
        store.store,
        String(store.chunks),
        name,
        round(entry.latency.p50, 2).toString(),
        round(entry.latency.p95, 2).toString(),
        round(entry.latency.p99, 2).toString(),
        round(entry.latency.max, 2).toString(),
        round(entry.cpuMsPerSearch, 2).toString(),
        round(entry.meanHits, 1).toString(),
        ['sync', 'lexical', 'vector', 'fetch', 'rank'].map((part) => entry.parts[part] ?? 0).join(' / '),
      ]);
    }
  }
  if (rows.length > 0) {
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
    );
    const line = (cells: string[]) =>
      `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`;
    lines.push('\nSearch latency (top 10, caller with 2 of 4 groups and confidential clearance):');
    lines.push(line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line));
  }
  for (const store of result.stores) {
    if (store.ingestion) {
      const ingestion = store.ingestion;
      lines.push(
        `\nIngestion (${store.store}): ${store.chunks} chunks in ${round(ingestion.seconds)} s = ${Math.round(ingestion.chunksPerSecond)} chunks/s ` +
          `(first tenth ${Math.round(ingestion.firstTenthChunksPerSecond)}, last tenth ${Math.round(ingestion.lastTenthChunksPerSecond)}); ` +
          `embedder share ${(ingestion.embedderShare * 100).toFixed(1)} %; ${Math.round(ingestion.chunksPerCpuSecond)} chunks per CPU second`,
      );
    }
    const transformer = store.transformer;
    if (transformer && 'skipped' in transformer) {
      lines.push(`\nminilm-l6 rows (${store.store}) skipped: ${transformer.skipped}`);
    } else if (transformer) {
      lines.push(
        `\n${transformer.model} (${store.store}): the manual's ${transformer.chunks} chunks embedded and stored in ${round(transformer.seconds)} s = ${round(transformer.msPerChunk, 1)} ms per chunk`,
      );
    }
    if (store.coldIndexLoadMs !== undefined) {
      lines.push(
        `Cold index load (${store.store}, first search of a new worker): ${Math.round(store.coldIndexLoadMs)} ms`,
      );
    }
  }
  lines.push('\nTargets:');
  for (const [id, verdict] of Object.entries(result.verdicts)) lines.push(`  ${id}: ${verdict}`);
  lines.push(
    `\nLoad average at start ${result.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}, at end ${result.machine.loadAverageAtEnd.map((value) => value.toFixed(2)).join(' ')} (${result.machine.cpus} cores)`,
  );
  return lines.join('\n');
}
