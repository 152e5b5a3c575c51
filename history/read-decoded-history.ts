import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/**
 * One run's history as JSON with every payload decoded — through the client's codec (so only with the
 * payload keys) and payload converter — and replaced by `{ "decoded": value }`. A payload this process
 * cannot decode stays as it was, marked `"undecodable": true`.
 */
export async function readDecodedHistory(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<unknown> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter;
  const decodeOne = async (value: { metadata: Record<string, string>; data?: string }): Promise<unknown> => {
    try {
      let payloads: Payload[] = [
        {
          metadata: Object.fromEntries(
            Object.entries(value.metadata).map(([key, text]) => [key, Buffer.from(text, 'base64')]),
          ),
          data: Buffer.from(value.data ?? '', 'base64'),
        },
      ];
      for (const codec of [...converter.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
      return { decoded: converter.payloadConverter.fromPayload(payloads[0] as Payload) };
    } catch {
      return { ...value, undecodable: true };
    }
  };
  const walk = async (node: unknown): Promise<unknown> => {
    if (Array.isArray(node)) return Promise.all(node.map(walk));
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    const metadata = record.metadata;
    if (metadata !== null && typeof metadata === 'object' && 'encoding' in metadata) {
      return decodeOne(record as { metadata: Record<string, string>; data?: string });
    }
    const entries = await Promise.all(
      Object.entries(record).map(async ([key, value]) => [key, await walk(value)] as const),
    );
    return Object.fromEntries(entries);
  };
  return walk(JSON.parse(historyToJSON(history)));
}
