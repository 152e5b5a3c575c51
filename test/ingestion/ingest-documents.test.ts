import { mkdtempSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CODES } from '../../client/cli-context';
import {
  INGESTION_PROGRESS_QUERY,
  ingestionWorkflowId,
  type IngestionProgress,
} from '../../domain/ingestion-contract';
import { searchChunks } from '../../store/chunk-search';
import { listDocuments } from '../../store/document-repository';
import { dropIngestion, stageIngestion } from '../../store/ingestion-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { saveHistoryIfRecording } from '../support/history-recording';
import { runCli } from '../support/run-cli';

const GUIDE = `# Connection pools

Keep a few browsers alive and lend them out: that is a resource pool with acquire and release.

## Example

\`\`\`python
pool = Pool(size=4)
page = pool.acquire()

pool.release(page)
\`\`\`

Closing the pool waits for every lent browser to come back.
`;

const PAGE = `<html><head><title>Refund rules</title></head><body><h1>Refunds</h1>
<p>Customers get their money back within thirty days when the parcel arrives damaged.</p></body></html>`;

async function chunkIds(harness: GatehouseHarness): Promise<string[]> {
  return ((await harness.db('chunks').orderBy('id').select('id')) as Array<{ id: string }>).map(
    (row) => row.id,
  );
}

async function search(harness: GatehouseHarness, query: string, groups: string[]) {
  return searchChunks(harness.db, { tenantId: 'demo', query, groups, clearance: 'internal', topK: 5 });
}

describe('gatehouse ingest through ingestDocumentsWorkflow', () => {
  let harness: GatehouseHarness;
  let directory: string;
  beforeAll(async () => {
    harness = await startHarness();
    // Only what this suite ingests: the demo seed's documents would blur the counts.
    await harness.db('documents').where('tenant_id', 'demo').delete();
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-ingest-'));
    mkdirSync(path.join(directory, 'guides'));
    writeFileSync(path.join(directory, 'guides', 'pools.md'), GUIDE);
    writeFileSync(path.join(directory, 'refunds.html'), PAGE);
    writeFileSync(path.join(directory, 'notes.txt'), 'Warranty claims go to the service desk on weekdays.');
    writeFileSync(path.join(directory, 'logo.png'), 'not a document');
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const ingest = (...args: string[]) =>
    runCli(harness.cliSettings(), 'ingest', ...args, '--tenant', 'demo', '--batch-size', '2');

  it('ingests a directory, skips unchanged documents, changes ACLs without re-embedding, prunes and deletes', async () => {
    const first = await ingest(
      directory,
      '--acl',
      'support',
      '--classification',
      'internal',
      '--ingestion-id',
      'first',
    );
    expect(first).toMatchObject({ exitCode: 0 });
    expect(first.stdout).toContain('3 documents, 1 files of other types skipped');
    expect(first.stdout).toMatch(/Documents: 3 · 3 new · 0 changed/);
    const documents = await listDocuments(harness.db, 'demo');
    expect(documents.map((document) => [document.externalId, document.title])).toEqual([
      ['guides/pools.md', 'Connection pools'],
      ['notes.txt', 'notes'],
      ['refunds.html', 'Refund rules'],
    ]);
    for (const document of documents) {
      expect(document.sourceUri).toMatch(/^file:\/\/.*gatehouse-ingest-/);
      expect(document.sourceVersion).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(document.chunkCount).toBeGreaterThan(0);
      expect(document.aclGroups).toEqual(['support']);
    }
    const chunks = await chunkIds(harness);
    const embeddings = (await harness.db('chunk_embeddings').count({ count: '*' }).first()) as {
      count: number | string;
    };
    expect(Number(embeddings.count)).toBe(chunks.length);
    // The code block stays whole in one chunk.
    const code = (await harness
      .db('chunks')
      .where('text', 'like', '%pool = Pool(size=4)%')
      .select('text')) as Array<{ text: string }>;
    expect(code).toHaveLength(1);
    expect(code[0]!.text).toContain('pool.release(page)\n```');
    expect((await search(harness, 'money back for a damaged parcel', ['support']))[0]?.documentId).toBe(
      'demo/refunds.html',
    );
    // The staged documents are gone once ingested; the progress query still answers.
    expect(await harness.db('ingestion_items').count({ count: '*' }).first()).toEqual({
      count: expect.anything(),
    });
    expect(
      Number(
        ((await harness.db('ingestion_items').count({ count: '*' }).first()) as { count: number }).count,
      ),
    ).toBe(0);
    const progress = await harness.client.workflow
      .getHandle(ingestionWorkflowId('demo', 'first'))
      .query<IngestionProgress>(INGESTION_PROGRESS_QUERY);
    expect(progress).toMatchObject({ total: 3, done: 3, phase: 'done', batches: { done: 2, total: 2 } });
    await saveHistoryIfRecording(
      harness.client.workflow.getHandle(ingestionWorkflowId('demo', 'first')),
      'ingested-directory',
    );

    const again = await ingest(directory, '--acl', 'support', '--classification', 'internal');
    expect(again.stdout).toMatch(
      /Documents: 3 · 0 new · 0 changed · 0 ACL or classification only · 3 unchanged/,
    );
    expect(again.stdout).toMatch(/Chunks: +0 written · 0 embedded/);
    expect(await chunkIds(harness)).toEqual(chunks);

    const revoked = await ingest(
      directory,
      '--acl',
      'finance',
      '--classification',
      'internal',
      '--source-version',
      'v2',
    );
    expect(revoked.stdout).toMatch(/3 ACL or classification only/);
    expect(revoked.stdout).toMatch(/0 written · 0 embedded/);
    expect(await chunkIds(harness)).toEqual(chunks);
    expect(await search(harness, 'money back for a damaged parcel', ['support'])).toEqual([]);
    expect((await search(harness, 'money back for a damaged parcel', ['finance']))[0]?.documentId).toBe(
      'demo/refunds.html',
    );
    expect(
      (await listDocuments(harness.db, 'demo')).every((document) => document.sourceVersion === 'v2'),
    ).toBe(true);

    writeFileSync(
      path.join(directory, 'guides', 'pools.md'),
      `${GUIDE}\nA pool never lends more than its size.\n`,
    );
    unlinkSync(path.join(directory, 'notes.txt'));
    const pruned = await ingest(
      directory,
      '--acl',
      'finance',
      '--classification',
      'internal',
      '--source-version',
      'v2',
      '--prune',
    );
    expect(pruned.stdout).toMatch(
      /Documents: 2 · 0 new · 1 changed · 0 ACL or classification only · 1 unchanged/,
    );
    expect(pruned.stdout).toMatch(/Deleted: +0 listed · 1 pruned/);
    const written = Number(/(\d+) written · (\d+) embedded/.exec(pruned.stdout)![1]);
    const embedded = Number(/(\d+) written · (\d+) embedded/.exec(pruned.stdout)![2]);
    expect(embedded).toBeGreaterThan(0);
    expect(embedded).toBeLessThanOrEqual(written);
    const hits = await search(harness, 'warranty claims service desk', ['finance']);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.map((hit) => hit.documentId)).not.toContain('demo/notes.txt');

    const listed = await runCli(harness.cliSettings(), 'documents', 'list', '--tenant', 'demo');
    expect(listed.stdout).toMatch(
      /guides\/pools\.md {2}v2 {2}internal {2}finance {2}\d+ chunks {2}v2 {2}file:\/\//,
    );
    expect(listed.stdout).toContain('2 documents');
    const deleted = await runCli(
      harness.cliSettings(),
      'documents',
      'delete',
      'refunds.html',
      'missing.md',
      '--tenant',
      'demo',
    );
    expect(deleted).toMatchObject({ exitCode: EXIT_CODES.notFound });
    expect(deleted.stdout).toContain('deleted  refunds.html\nnot found  missing.md');
    expect(await search(harness, 'money back for a damaged parcel', ['finance'])).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ documentId: 'demo/refunds.html' })]),
    );
  });

  it('ingests a JSONL file with per-line ACLs, formats and deletions', async () => {
    const file = path.join(directory, 'batch.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          id: 'kb/shipping',
          title: 'Shipping',
          text: 'Parcels leave the warehouse every morning.',
          uri: 'https://kb.example/shipping',
          version: 7,
        }),
        JSON.stringify({
          id: 'kb/secret',
          format: 'html',
          text: '<h1>Salaries</h1><p>Pay bands per level.</p>',
          acl: ['hr'],
          classification: 'confidential',
        }),
        JSON.stringify({ id: 'guides/pools.md', deleted: true }),
        JSON.stringify({ id: 'kb/never-existed', deleted: true }),
      ].join('\n'),
    );
    const run = await ingest(file, '--acl', 'support', '--classification', 'internal');
    expect(run).toMatchObject({ exitCode: 0 });
    expect(run.stdout).toMatch(/Documents: 4 · 2 new/);
    expect(run.stdout).toMatch(/Deleted: +1 listed · 0 pruned · 1 already absent/);
    const documents = await listDocuments(harness.db, 'demo');
    expect(
      documents.map((document) => [
        document.externalId,
        document.classification,
        document.aclGroups,
        document.sourceUri,
        document.sourceVersion,
      ]),
    ).toEqual([
      ['kb/secret', 'confidential', ['hr'], null, null],
      ['kb/shipping', 'internal', ['support'], 'https://kb.example/shipping', '7'],
    ]);
    expect(documents[0]!.title).toBe('Salaries');
  });

  it('refuses bad sources and callers before anything is staged', async () => {
    const file = path.join(directory, 'bad.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ id: 'a', text: 'x' })}\n${JSON.stringify({ id: 'b', text: 'y', classification: 'secret' })}\n`,
    );
    const bad = await ingest(file, '--acl', 'support');
    expect(bad.exitCode).toBe(EXIT_CODES.error);
    expect(bad.stderr).toContain('bad.jsonl:2: classification');
    const twice = path.join(directory, 'twice.jsonl');
    writeFileSync(
      twice,
      `${JSON.stringify({ id: 'a', text: 'x' })}\n${JSON.stringify({ id: 'a', text: 'y' })}\n`,
    );
    expect((await ingest(twice, '--acl', 'support')).stderr).toContain("document 'a' appears twice");
    await stageIngestion(harness.db, { ingestionId: 'busy', tenantId: 'demo', source: 'x', documents: [] });
    const busy = await ingest(directory, '--acl', 'support', '--ingestion-id', 'busy');
    expect(busy.stderr).toContain("ingestion 'busy' is still running");
    await dropIngestion(harness.db, 'busy');
    const forbidden = await runCli(
      harness.cliSettings({ GATEHOUSE_API_KEY: harness.contractorApiKey }),
      'ingest',
      directory,
      '--acl',
      'support',
    );
    expect(forbidden.exitCode).toBe(EXIT_CODES.forbidden);
    expect(
      Number(((await harness.db('ingestions').count({ count: '*' }).first()) as { count: number }).count),
    ).toBe(0);
  });

  it('fails a malformed input for good and marks the run failed', async () => {
    const handle = await harness.client.workflow.start('ingestDocumentsWorkflow', {
      workflowId: ingestionWorkflowId('demo', 'malformed'),
      taskQueue: harness.taskQueue,
      args: [{ ingestionId: 'malformed', tenantId: 'demo', itemCount: 1, batchSize: 0 }],
    });
    await expect(handle.result()).rejects.toMatchObject({
      cause: { type: 'Request.Invalid', message: expect.stringContaining('batchSize') },
    });
    const description = await handle.describe();
    expect(description.searchAttributes['Outcome']).toEqual(['failed']);
  });
});
