import type { Knex } from 'knex';
import {
  INGESTION_PROGRESS_QUERY,
  ingestionWorkflowId,
  type IngestionInput,
  type IngestionProgress,
} from '../../domain/ingestion-contract';
import type { StagedDocument } from '../../domain/staged-document';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { chunkStructuredText } from '../../retrieval/chunk-structured-text';
import { toIngestibleText } from '../../retrieval/source-document';
import { stageIngestion } from '../../store/ingestion-repository';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { startFleet, type Fleet } from './fleet';
import { eventually, report, runsOf, scaled } from './processes';

const DOCUMENTS = scaled(288, 960);
const BATCH_SIZE = 96;
// The emulator's vectors are 384-dimensional unless asked otherwise.
const EMBEDDING_MODEL = { model: 'reliability-embedder', dimensions: 384 };
const tokens = createLocalTokenCounter();

/** A few sections of distinct prose per document, so each one makes several chunks. */
function documentText(index: number): string {
  const paragraph = (section: number) =>
    Array.from(
      { length: 12 },
      (_, sentence) =>
        `Document ${index} section ${section} sentence ${sentence} explains topic-${index}-${section}-${sentence} in plain words for the reader.`,
    ).join(' ');
  return [
    `# Manual ${index}`,
    ...[1, 2, 3].flatMap((section) => [`## Part ${section}`, paragraph(section)]),
  ].join('\n\n');
}

async function committedItems(db: Knex, ingestionId: string): Promise<number> {
  const row = (await db('ingestion_items')
    .where('ingestion_id', ingestionId)
    .whereNotNull('outcome')
    .count({ count: '*' })
    .first()) as { count: number | string } | undefined;
  return Number(row?.count ?? 0);
}

describe('a worker SIGKILLed in the middle of an ingestion, then restarted', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    // Each embedding call takes 250 ms, so a batch is in flight for about a second.
    fleet = await startFleet({
      address: getTestTemporalAddress(),
      latencyMs: 250,
      embeddingModel: EMBEDDING_MODEL,
    });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('finishes with every chunk once, none missing, each document written once', async () => {
    const worker = await fleet.startWorker('ingester');
    await fleet.db('documents').where('tenant_id', 'demo').delete();
    const documents: StagedDocument[] = Array.from({ length: DOCUMENTS }, (_, index) => ({
      kind: 'upsert',
      externalId: `manuals/${String(index).padStart(4, '0')}.md`,
      content: documentText(index),
      format: 'markdown',
      aclGroups: ['support'],
      classification: 'internal',
    }));
    const revisionBefore = Number(
      ((await fleet.db('retrieval_changes').max({ revision: 'revision' }).first()) as { revision: unknown })
        .revision ?? 0,
    );
    const ingestionId = 'kill-mid-batch';
    await stageIngestion(fleet.db, { ingestionId, tenantId: 'demo', source: 'generated', documents });
    const input: IngestionInput = {
      ingestionId,
      tenantId: 'demo',
      itemCount: DOCUMENTS,
      batchSize: BATCH_SIZE,
    };
    const workflowId = ingestionWorkflowId('demo', ingestionId);
    const handle = await fleet.client.workflow.start('ingestDocumentsWorkflow', {
      workflowId,
      taskQueue: fleet.taskQueue,
      args: [input],
    });

    // Kill once a batch is part-way written: some of its groups committed, the batch not yet reported done.
    const atKill = await eventually(
      'a batch part-way written',
      async () => {
        const progress = await handle.query<IngestionProgress>(INGESTION_PROGRESS_QUERY);
        const committed = await committedItems(fleet.db, ingestionId);
        return progress.done >= BATCH_SIZE && committed > progress.done && committed < DOCUMENTS
          ? { progress, committed }
          : undefined;
      },
      120_000,
    );
    const killedAt = Date.now();
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    const embeddingCallsAtKill = fleet.emulator
      .calls()
      .filter((call) => call.operation === 'embeddings').length;
    await fleet.startWorker('ingester-restarted');

    const result = await handle.result();
    const recoveredMs = Date.now() - killedAt;
    expect(result).toMatchObject({ total: DOCUMENTS, done: DOCUMENTS, phase: 'done' });
    expect(result.totals.created).toBe(DOCUMENTS);
    expect(await runsOf(fleet.client, workflowId)).toBe(1);

    // Every document's chunks are exactly what the chunker makes of it: none twice, none missing.
    const rows = (await fleet
      .db('chunks')
      .where('tenant_id', 'demo')
      .orderBy([{ column: 'document_id' }, { column: 'ordinal' }])
      .select('document_id', 'ordinal', 'text', 'document_version')) as Array<{
      document_id: string;
      ordinal: number;
      text: string;
      document_version: number;
    }>;
    let expectedChunks = 0;
    for (const document of documents) {
      if (document.kind !== 'upsert') continue;
      const { text } = toIngestibleText(document.content, 'markdown', document.externalId);
      const expected = chunkStructuredText(text, { countTokens: (piece) => tokens.count(piece) }).map(
        (chunk) => chunk.text,
      );
      expectedChunks += expected.length;
      const stored = rows.filter((row) => row.document_id === `demo/${document.externalId}`);
      expect({ document: document.externalId, chunks: stored.map((row) => row.text) }).toEqual({
        document: document.externalId,
        chunks: expected,
      });
      expect(stored.map((row) => Number(row.ordinal))).toEqual(expected.map((_, ordinal) => ordinal));
      expect(stored.every((row) => Number(row.document_version) === 1)).toBe(true);
    }
    expect(rows).toHaveLength(expectedChunks);
    expect(result.totals.chunksWritten).toBe(expectedChunks);
    const vectors = (await fleet
      .db('chunk_embeddings')
      .where({ tenant_id: 'demo', model: EMBEDDING_MODEL.model })
      .count({ count: '*' })
      .first()) as { count: number | string };
    expect(Number(vectors.count)).toBe(expectedChunks);
    // One content change per document in the log search indexes follow: no document was written twice.
    const changes = (await fleet
      .db('retrieval_changes')
      .where({ tenant_id: 'demo', kind: 'content' })
      .andWhere('revision', '>', revisionBefore)
      .count({ count: '*' })
      .first()) as { count: number | string };
    expect(Number(changes.count)).toBe(DOCUMENTS);
    expect(
      Number(((await fleet.db('ingestion_items').count({ count: '*' }).first()) as { count: number }).count),
    ).toBe(0);

    const embeddingCalls = fleet.emulator.calls().filter((call) => call.operation === 'embeddings').length;
    report('worker SIGKILL mid-ingestion', {
      documents: DOCUMENTS,
      'batch size': BATCH_SIZE,
      'batches reported done at kill': atKill.progress.batches.done,
      'documents committed at kill': atKill.committed,
      'documents the workflow counted at kill': atKill.progress.done,
      chunks: expectedChunks,
      'chunk rows': rows.length,
      'vectors stored': Number(vectors.count),
      'content writes': Number(changes.count),
      'embedding calls before kill': embeddingCallsAtKill,
      'embedding calls in all': embeddingCalls,
      'done after kill (ms)': recoveredMs,
    });
  });
});
