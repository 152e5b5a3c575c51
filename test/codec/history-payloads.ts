import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Knex } from 'knex';
import { upsertDocument } from '../../store/document-repository';

/** One payload as protobuf JSON (what `temporal workflow show --output json` and the codec protocol carry). */
export interface JsonPayload {
  path: string;
  metadata: Record<string, string>;
  data?: string;
}

const fromBase64 = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');

/** Every payload in a protobuf-JSON history, wherever it sits, with its path. */
export function payloadsInJson(value: unknown, path = ''): JsonPayload[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => payloadsInJson(item, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const metadata = record.metadata;
  if (
    metadata !== null &&
    typeof metadata === 'object' &&
    !Array.isArray(metadata) &&
    ('data' in record || 'encoding' in metadata)
  ) {
    return [{ path, metadata: metadata as Record<string, string>, data: record.data as string | undefined }];
  }
  return Object.entries(record).flatMap(([key, child]) =>
    payloadsInJson(child, path ? `${path}.${key}` : key),
  );
}

export function payloadEncoding(payload: JsonPayload): string {
  return fromBase64(payload.metadata.encoding);
}

/** Everything a reader without keys can see of a history: its JSON text plus every payload's decoded data. */
export function readableText(historyJson: string): string {
  const payloads = payloadsInJson(JSON.parse(historyJson));
  return [historyJson, ...payloads.map((payload) => fromBase64(payload.data))].join('\n');
}

/** The history exactly as stored, fetched by a client that has no data converter and no keys. */
export async function rawHistoryJson(client: Client, workflowId: string): Promise<string> {
  const plain = new Client({ connection: client.connection, namespace: client.options.namespace });
  const handle: WorkflowHandle = plain.workflow.getHandle(workflowId);
  return historyToJSON(await handle.fetchHistory());
}

/**
 * Payloads Temporal itself writes and no codec sees: search attributes (opaque ids by design), the
 * bookkeeping record Temporal's core keeps for each local activity (type, attempt, timing), and a patch
 * marker's patch id.
 */
export function isTemporalBookkeeping(payload: JsonPayload): boolean {
  return /searchAttributes\.indexedFields|markerRecordedEventAttributes\.details\.(data|patch-data)\.payloads/.test(
    payload.path,
  );
}

/** Seeds a demo-tenant document whose most relevant sentence for a refund question carries `canary`. */
export async function seedCanaryDocument(db: Knex, canary: string): Promise<void> {
  await upsertDocument(db, {
    tenantId: 'demo',
    externalId: `canary-${canary.toLowerCase()}`,
    title: 'Refund approvals',
    text: `Larkspur refunds are approved by the desk with reference ${canary} within 30 days. Refund approvals follow the refund policy.`,
    aclGroups: ['everyone'],
    classification: 'public',
  });
}

export function temporaryDirectory(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-codec-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
