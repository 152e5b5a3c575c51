import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { dataClassSchema } from '../domain/data-class';
import {
  evaluateConfigurations,
  evaluateCorpus,
  readCorpusFile,
  readQuestionsFile,
} from '../retrieval/evaluate-corpus';
import {
  formatEvaluationTable,
  readJsonLines,
  STANDARD_CONFIGURATIONS,
  type EvaluationConfiguration,
  type EvaluationReport,
  type EvaluationScope,
} from '../retrieval/evaluate-retrieval';
import { createEmbedder } from '../retrieval/create-embedder';
import { formatGroundingReport, groundingExampleSchema, groundingReport } from '../retrieval/grounding';
import { createKnex } from '../store/knex-client';
import { openScratchDatabase } from '../store/scratch-database';
import type { GatehouseSettings } from '../config/environment';

function configurationList(value: string): EvaluationConfiguration[] {
  return value.split(',').map((name) => {
    const found = STANDARD_CONFIGURATIONS.find((configuration) => configuration.name === name.trim());
    if (!found) {
      throw new InvalidArgumentError(
        `unknown configuration '${name}'; choose from ${STANDARD_CONFIGURATIONS.map((entry) => entry.name).join(', ')}`,
      );
    }
    return found;
  });
}

/**
 * `gatehouse eval grounding`: the share of answer sentences the chunks they cite support
 * (retrieval/grounding.ts).
 *
 * `gatehouse eval retrieval`: recall@1/5/10, MRR@10, nDCG@10 and latency per query type, through the
 * same search the retrieve step runs. With `--corpus` the documents are loaded into a scratch database
 * (SQLite, or a temporary schema with `--store postgres`); without it the tenant's stored documents are
 * searched.
 */
export function registerEvalCommands(program: Command, settings: GatehouseSettings): void {
  const evaluate = program.command('eval').description('measure quality against a labelled dataset');
  evaluate
    .command('retrieval')
    .description('score retrieval on labelled questions (JSONL: id, type, question, relevant[])')
    .requiredOption('--dataset <file>', 'questions, one JSON object per line')
    .option('--corpus <file>', 'documents to load into a scratch database first (JSONL: id, title, text)')
    .option('--store <store>', 'scratch store for --corpus: sqlite | postgres (needs DATABASE_URL)', 'sqlite')
    .option('-t, --tenant <id>', 'tenant whose documents are searched (without --corpus)')
    .option('--groups <list>', 'comma-separated ACL groups of the caller', 'everyone')
    .option('--clearance <class>', 'public | internal | confidential | restricted', 'public')
    .option(
      '--configurations <list>',
      `comma-separated: ${STANDARD_CONFIGURATIONS.map((entry) => entry.name).join(', ')}`,
      configurationList,
      STANDARD_CONFIGURATIONS.filter((entry) => entry.name !== 'vector'),
    )
    .option('--json <file>', 'also write the full report (per question) as JSON')
    .action(async (options) => {
      const questions = readQuestionsFile(options.dataset);
      const clearance = dataClassSchema.safeParse(options.clearance);
      if (!clearance.success)
        throw new Error(`--clearance must be one of ${dataClassSchema.options.join(', ')}`);
      const groups = String(options.groups)
        .split(',')
        .map((group) => group.trim())
        .filter((group) => group !== '');
      const configurations = options.configurations as EvaluationConfiguration[];
      // The deployment's embedder (GATEHOUSE_EMBEDDER): stored vectors are only comparable within a model.
      const embedder = createEmbedder(settings.embedder);
      let reports: EvaluationReport[];
      let store: string;
      if (options.corpus) {
        if (options.store !== 'sqlite' && options.store !== 'postgres')
          throw new Error('--store must be sqlite or postgres');
        if (options.store === 'postgres' && !settings.databaseUrl)
          throw new Error('--store postgres needs DATABASE_URL');
        const documents = readCorpusFile(options.corpus);
        const scratch = await openScratchDatabase({
          databaseUrl: options.store === 'postgres' ? settings.databaseUrl : undefined,
        });
        try {
          const scope: EvaluationScope = { tenantId: 'eval', groups, clearance: clearance.data };
          process.stderr.write(
            `loading ${documents.length} documents into a scratch ${scratch.store} database…\n`,
          );
          reports = await evaluateCorpus(scratch.db, {
            documents,
            questions,
            configurations,
            scope,
            embedder,
          });
          store = scratch.store;
        } finally {
          await scratch.destroy();
        }
      } else {
        if (!options.tenant)
          throw new Error('pass --tenant to search stored documents, or --corpus to load a corpus');
        const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
        try {
          const scope: EvaluationScope = { tenantId: options.tenant, groups, clearance: clearance.data };
          store = settings.databaseUrl ? 'postgres' : 'sqlite';
          reports = await evaluateConfigurations(db, questions, configurations, { scope, embedder });
        } finally {
          await db.destroy();
        }
      }
      process.stdout.write(`${formatEvaluationTable(reports.map((report) => ({ ...report, store })))}\n`);
      if (options.json) {
        writeFileSync(options.json, `${JSON.stringify(reports, null, 2)}\n`);
        process.stdout.write(`report: ${options.json}\n`);
      }
    });

  evaluate
    .command('grounding')
    .description(
      'share of answer sentences supported by the chunks they cite (JSONL: id, answer, contexts[{documentId, text}])',
    )
    .requiredOption(
      '--dataset <file>',
      'answers with the chunks they were written from, one JSON object per line',
    )
    .option('--json <file>', 'also write the full report (per sentence) as JSON')
    .action((options: { dataset: string; json?: string }) => {
      const report = groundingReport(readJsonLines(options.dataset, groundingExampleSchema));
      process.stdout.write(`${formatGroundingReport(report)}\n`);
      if (options.json) {
        writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
        process.stdout.write(`report: ${options.json}\n`);
      }
    });
}
