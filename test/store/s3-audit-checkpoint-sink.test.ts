import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { newAuditKeys } from '../../governance/audit-key-store';
import { createS3AuditCheckpointSink, parseS3CheckpointUrl } from '../../governance/s3-audit-checkpoint-sink';
import { verifyAuditTrail } from '../../governance/verify-audit-trail';
import { writeAuditCheckpoints } from '../../governance/write-audit-checkpoints';
import { appendAuditEvents } from '../../store/audit-repository';
import { createTestDatabase, type TestDatabase } from './test-database';

/**
 * Just enough of S3's REST API, path style, for the sink: PutObject (with If-None-Match), GetObject
 * and ListObjectsV2 with a small page size so that pagination is exercised.
 */
function startFakeS3(pageSize = 2) {
  const objects = new Map<string, string>();
  const requests: string[] = [];
  const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>${body}`;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://s3.local');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    requests.push(`${request.method} ${bucket}/${key}`);
    const id = `${bucket}/${key}`;
    if (request.method === 'PUT') {
      if (request.headers['if-none-match'] === '*' && objects.has(id)) {
        response.writeHead(412, { 'content-type': 'application/xml' });
        response.end(xml('<Error><Code>PreconditionFailed</Code><Message>exists</Message></Error>'));
        return;
      }
      objects.set(id, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(200, { etag: '"x"' });
      response.end();
      return;
    }
    if (request.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      const prefix = `${bucket}/${url.searchParams.get('prefix') ?? ''}`;
      const keys = [...objects.keys()].filter((name) => name.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get('continuation-token') ?? '0');
      const page = keys.slice(start, start + pageSize);
      const truncated = start + pageSize < keys.length;
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        xml(
          `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name>` +
            `<KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
            (truncated ? `<NextContinuationToken>${start + pageSize}</NextContinuationToken>` : '') +
            page
              .map(
                (name) => `<Contents><Key>${name.slice(bucket!.length + 1)}</Key><Size>1</Size></Contents>`,
              )
              .join('') +
            '</ListBucketResult>',
        ),
      );
      return;
    }
    if (request.method === 'GET' && objects.has(id)) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(objects.get(id));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/xml' });
    response.end(xml('<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>'));
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  return new Promise<{
    endpoint: string;
    objects: Map<string, string>;
    requests: string[];
    close(): Promise<void>;
  }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        objects,
        requests,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('audit checkpoints in S3 (write-once objects)', () => {
  const keys = newAuditKeys();
  let database: TestDatabase;
  let s3: Awaited<ReturnType<typeof startFakeS3>>;
  let client: S3Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    s3 = await startFakeS3();
    client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await database?.destroy();
  });

  it('parses s3:// locations and names a bad one', () => {
    expect(parseS3CheckpointUrl('s3://audit-anchors')).toEqual({ bucket: 'audit-anchors', prefix: '' });
    expect(parseS3CheckpointUrl('s3://audit-anchors/prod/gatehouse/')).toEqual({
      bucket: 'audit-anchors',
      prefix: 'prod/gatehouse/',
    });
    expect(() => parseS3CheckpointUrl('https://audit-anchors')).toThrow(
      /GATEHOUSE_AUDIT_CHECKPOINT_S3=.*s3:\/\/<bucket>/,
    );
    expect(() => parseS3CheckpointUrl('s3://A_B')).toThrow(/valid bucket name/);
  });

  it('stores each checkpoint once, reads them back across pages, and audit verify uses them', async () => {
    const sink = createS3AuditCheckpointSink({ bucket: 'anchors', prefix: 'gatehouse/' }, { client });
    const tenantId = 's3-tenant';
    for (let round = 1; round <= 3; round++) {
      await appendAuditEvents(database.db, keys.chainKey, [
        {
          tenantId,
          workflowId: `gatehouse/${tenantId}/r-${round}`,
          runId: 'run-1',
          step: 'record',
          attempt: 0,
          eventType: 'request.succeeded',
          payload: { round },
        },
      ]);
      await writeAuditCheckpoints(database.db, { keys, checkpointSink: sink }, { now: new Date(), tenantId });
    }
    const stored = await sink.read(tenantId);
    expect(stored.unreadable).toBe(0);
    expect(stored.checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([1, 2, 3]);
    expect([...s3.objects.keys()].every((name) => name.startsWith(`anchors/gatehouse/${tenantId}/`))).toBe(
      true,
    );

    // A retried write of the same checkpoint is refused by the store and is not an error.
    await sink.append([stored.checkpoints[2]!]);
    expect((await sink.read(tenantId)).checkpoints).toHaveLength(3);
    expect(s3.requests.filter((line) => line.startsWith('PUT'))).toHaveLength(4);

    const report = await verifyAuditTrail(database.db, tenantId, { keys, checkpointSink: sink });
    expect(report.verdict.ok).toBe(true);
    expect(report.checkpoints).toMatchObject({ valid: 3, latestSeq: 3 });
  });

  it('a checkpoint rewritten in the bucket fails verification, naming the sink', async () => {
    const sink = createS3AuditCheckpointSink(parseS3CheckpointUrl('s3://anchors/gatehouse'), { client });
    const tenantId = 's3-tenant';
    const [name, body] = [...s3.objects.entries()].find(([key]) => key.includes(`/${tenantId}/`))!;
    s3.objects.set(name, body.replace(/"headHash":"[0-9a-f]{64}"/, `"headHash":"${'0'.repeat(64)}"`));
    const report = await verifyAuditTrail(database.db, tenantId, { keys, checkpointSink: sink });
    expect(report.verdict.ok).toBe(false);
    expect(!report.verdict.ok && report.verdict.reason).toMatch(
      /in s3:\/\/anchors\/gatehouse\/ does not carry a valid signature .*: the checkpoint sink was altered/,
    );
  });
});
