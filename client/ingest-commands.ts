import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';
import { dataClassSchema, type DataClass } from '../domain/data-class';
import {
  DEFAULT_INGESTION_BATCH_SIZE,
  INGESTION_PROGRESS_QUERY,
  MAX_INGESTION_BATCH_SIZE,
  ingestionWorkflowId,
  type IngestionInput,
  type IngestionProgress,
  type IngestionResult,
} from '../domain/ingestion-contract';
import { workflowLink, type GatehouseSettings } from '../config/environment';
import { deleteDocument, listDocuments } from '../store/document-repository';
import { dropIngestion, isIngestionStaged, stageIngestion } from '../store/ingestion-repository';
import type { ingestDocumentsWorkflow } from '../workflows/ingest-documents-workflow';
import {
  authenticateOperator,
  CliError,
  EXIT_CODES,
  resolveApiKey,
  withDatabase,
  withTemporal,
  refusalsToCli,
} from './cli-context';
import { IngestSourceError, readIngestSource } from './ingest-source';
import { waitWithProgress } from './wait-with-progress';
import { demoTenantOption, operatorKeyOption } from './command-options';

const BAR_WIDTH = 20;

function wholeNumber(minimum: number, maximum = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum || parsed > maximum)
      throw new InvalidArgumentError(`expected a whole number from ${minimum} to ${maximum}`);
    return parsed;
  };
}

function classificationOption(value: string): DataClass {
  const parsed = dataClassSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`one of ${dataClassSchema.options.join(', ')}`);
  return parsed.data;
}

function groupsOption(value: string): string[] {
  const groups = value
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
  if (groups.length === 0) throw new InvalidArgumentError('at least one group');
  return groups;
}

/** `[#####.....] 120/200 documents · 30 new · 2 changed · 1 re-permissioned · 0 deleted · 410 chunks embedded` */
export function formatIngestionProgressBar(progress: IngestionProgress): string {
  const filled = progress.total === 0 ? BAR_WIDTH : Math.floor((BAR_WIDTH * progress.done) / progress.total);
  const { totals } = progress;
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${progress.done}/${progress.total} documents · ` +
    `${totals.created} new · ${totals.updated} changed · ${totals.permissions} re-permissioned · ` +
    `${totals.unchanged} unchanged · ${totals.deleted + totals.pruned} deleted · ${totals.chunksEmbedded} chunks embedded`
  );
}

function formatIngestionSummary(result: IngestionResult): string {
  const { totals } = result;
  return [
    `Documents: ${result.total} · ${totals.created} new · ${totals.updated} changed · ${totals.permissions} ACL or classification only · ${totals.unchanged} unchanged`,
    `Deleted:   ${totals.deleted} listed · ${totals.pruned} pruned · ${totals.absent} already absent`,
    `Chunks:    ${totals.chunksWritten} written · ${totals.chunksEmbedded} embedded · ${(result.elapsedMs / 1000).toFixed(1)} s`,
  ].join('\n');
}

/** Waits for the ingestion's result while drawing its progress bar on `stream`. */
function waitForIngestion(
  client: Client,
  workflowId: string,
  stream: NodeJS.WriteStream,
): Promise<IngestionResult> {
  const handle = client.workflow.getHandle<typeof ingestDocumentsWorkflow>(workflowId);
  return waitWithProgress({
    result: handle.result(),
    progressLine: async () =>
      formatIngestionProgressBar(await handle.query<IngestionProgress>(INGESTION_PROGRESS_QUERY)),
    finalLine: formatIngestionProgressBar,
    stream,
  });
}

/** `gatehouse ingest` and `gatehouse documents list|delete`. */
export function registerIngestCommands(program: Command, settings: GatehouseSettings): void {
  program
    .command('ingest')
    .description(
      'ingest a directory (Markdown, text, HTML) or a JSONL file of documents through ingestDocumentsWorkflow',
    )
    .argument('<source>', 'a directory, or a JSONL file (one document per line)')
    .addOption(demoTenantOption())
    .requiredOption('--acl <groups>', 'comma-separated groups that may read the documents', groupsOption)
    .option(
      '--classification <class>',
      'public | internal | confidential | restricted',
      classificationOption,
      'internal',
    )
    .option('--source-version <label>', "the source's version (default: each file's modification time)")
    .option(
      '--prune',
      "directory only: delete the tenant's documents from this directory that are gone from it",
    )
    .option(
      '--batch-size <n>',
      `documents per batch activity (1-${MAX_INGESTION_BATCH_SIZE})`,
      wholeNumber(1, MAX_INGESTION_BATCH_SIZE),
      DEFAULT_INGESTION_BATCH_SIZE,
    )
    .option('--target-tokens <n>', 'tokens per chunk (default 256)', wholeNumber(16))
    .option('--overlap-tokens <n>', 'tokens repeated between consecutive chunks (default 32)', wholeNumber(0))
    .option('--ingestion-id <id>', 'names the ingestion and its workflow (default: a new UUID)')
    .addOption(operatorKeyOption())
    .option('--no-wait', 'print the workflow id and return without waiting')
    .action(
      async (
        source: string,
        options: {
          tenant: string;
          acl: string[];
          classification: DataClass;
          sourceVersion?: string;
          prune?: boolean;
          batchSize: number;
          targetTokens?: number;
          overlapTokens?: number;
          ingestionId?: string;
          apiKey?: string;
          wait: boolean;
        },
      ) => {
        const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
        const read = await refusalsToCli(IngestSourceError, () =>
          readIngestSource(source, {
            tenantId: options.tenant,
            aclGroups: options.acl,
            classification: options.classification,
            sourceVersion: options.sourceVersion,
          }),
        );
        if (options.prune && read.sourcePrefix === undefined)
          throw new CliError('--prune needs a directory: a JSONL file deletes with "deleted": true lines');
        const ingestionId = options.ingestionId ?? randomUUID();
        const workflowId = ingestionWorkflowId(options.tenant, ingestionId);
        const input: IngestionInput = {
          ingestionId,
          tenantId: options.tenant,
          itemCount: read.documents.length,
          batchSize: options.batchSize,
          targetTokens: options.targetTokens,
          overlapTokens: options.overlapTokens,
          pruneSourcePrefix: options.prune ? read.sourcePrefix : undefined,
        };
        await withDatabase(settings, async (db) => {
          await authenticateOperator(db, options.tenant, apiKey);
          if (await isIngestionStaged(db, ingestionId))
            throw new CliError(
              `ingestion '${ingestionId}' is still running (${workflowId}); choose another id`,
            );
          await stageIngestion(db, {
            ingestionId,
            tenantId: options.tenant,
            source,
            documents: read.documents,
          });
          try {
            await withTemporal(settings, async (client) => {
              await client.workflow.start<typeof ingestDocumentsWorkflow>('ingestDocumentsWorkflow', {
                workflowId,
                taskQueue: settings.taskQueue,
                args: [input],
              });
            });
          } catch (error) {
            // Nothing will read the staged documents: do not leave them behind.
            await dropIngestion(db, ingestionId);
            throw error;
          }
        });
        process.stdout.write(
          `Ingestion: ${ingestionId} (${read.documents.length} documents${read.skippedFiles.length > 0 ? `, ${read.skippedFiles.length} files of other types skipped` : ''})\n` +
            `Workflow:  ${workflowId}\nTemporal:  ${workflowLink(settings, workflowId)}\n`,
        );
        if (!options.wait) return;
        await withTemporal(settings, async (client) => {
          const result = await waitForIngestion(client, workflowId, process.stderr);
          process.stdout.write(`${formatIngestionSummary(result)}\n`);
        });
      },
    );

  const documents = program.command('documents').description("a tenant's ingested documents");
  documents
    .command('list')
    .description('every document of the tenant: version, classification, ACL, chunks, source')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .option('--json', 'print the documents as JSON')
    .action(async (options: { tenant: string; apiKey?: string; json?: boolean }) => {
      const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
      await withDatabase(settings, async (db) => {
        await authenticateOperator(db, options.tenant, apiKey);
        const rows = await listDocuments(db, options.tenant);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        const lines = rows.map((row) =>
          [
            row.externalId,
            `v${row.version}`,
            row.classification,
            row.aclGroups.join(','),
            `${row.chunkCount} chunks`,
            row.sourceVersion ?? '-',
            row.sourceUri ?? '-',
            ...(row.instructionSignals.length > 0
              ? [`instruction-like: ${row.instructionSignals.join(',')}`]
              : []),
          ].join('  '),
        );
        const flagged = rows.filter((row) => row.instructionSignals.length > 0).length;
        process.stdout.write(
          `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}${rows.length} documents` +
            `${flagged > 0 ? `, ${flagged} with instruction-like text` : ''}\n`,
        );
      });
    });
  documents
    .command('delete')
    .description(
      'delete documents with their chunks and vectors; searches stop returning them on their next query',
    )
    .argument('<id...>', 'external ids of the documents (as `documents list` shows them)')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .action(async (ids: string[], options: { tenant: string; apiKey?: string }) => {
      const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
      await withDatabase(settings, async (db) => {
        await authenticateOperator(db, options.tenant, apiKey);
        let missing = 0;
        for (const id of ids) {
          const deleted = await deleteDocument(db, options.tenant, id);
          if (!deleted) missing += 1;
          process.stdout.write(`${deleted ? 'deleted' : 'not found'}  ${id}\n`);
        }
        if (missing > 0) process.exitCode = EXIT_CODES.notFound;
      });
    });
}
