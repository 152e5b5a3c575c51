import {
  BedrockAgentRuntimeClient,
  RetrieveCommand,
  type RetrievalFilter,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { z } from 'zod';
import { dataClassesUpTo, type DataClass } from '../domain/data-class';
import type { RetrievedChunk } from '../domain/step-contracts';
import { sha256Hex } from '../governance/sha256';
import { findInstructionSignals } from './instruction-signals';

/**
 * The metadata keys a knowledge base's documents carry (in each source file's `.metadata.json`
 * sidecar) so Gatehouse can filter them: who owns the document, who may read it, how sensitive it is,
 * and optionally its id and version for citations.
 */
export const KNOWLEDGE_BASE_METADATA_KEYS = {
  tenant: 'tenant_id',
  aclGroups: 'acl_groups',
  classification: 'classification',
  documentId: 'document_id',
  documentVersion: 'document_version',
} as const;

export interface KnowledgeBaseQuery {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClass;
  topK: number;
}

/** Retrieve allows andAll / orAll of 2 to 5 filters. */
const MAX_FILTER_MEMBERS = 5;

function anyOf(filters: RetrievalFilter[]): RetrievalFilter {
  if (filters.length === 1) return filters[0]!;
  if (filters.length <= MAX_FILTER_MEMBERS) return { orAll: filters };
  const groups: RetrievalFilter[] = [];
  for (let index = 0; index < filters.length; index += MAX_FILTER_MEMBERS) {
    groups.push(anyOf(filters.slice(index, index + MAX_FILTER_MEMBERS)));
  }
  return anyOf(groups);
}

/**
 * The caller's permissions as a Retrieve metadata filter, applied by the knowledge base before any
 * scoring: the tenant's documents only, sharing at least one ACL group with the caller, at a
 * classification within the caller's clearance. Undefined when the caller belongs to no group (nothing
 * is readable; no call is made).
 */
export function knowledgeBaseFilter(
  query: Omit<KnowledgeBaseQuery, 'query' | 'topK'>,
): RetrievalFilter | undefined {
  const groups = [...new Set(query.groups)].sort();
  if (groups.length === 0) return undefined;
  const readable = dataClassesUpTo(query.clearance);
  return {
    andAll: [
      { equals: { key: KNOWLEDGE_BASE_METADATA_KEYS.tenant, value: query.tenantId } },
      anyOf(
        groups.map((group) => ({
          listContains: { key: KNOWLEDGE_BASE_METADATA_KEYS.aclGroups, value: group },
        })),
      ),
      { in: { key: KNOWLEDGE_BASE_METADATA_KEYS.classification, value: readable } },
    ],
  };
}

// Lenient: only what Gatehouse reads from a RetrieveResponse result.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_KnowledgeBaseRetrievalResult.html
const retrievalResultSchema = z.object({
  content: z.object({ text: z.string().optional() }).passthrough().optional(),
  location: z.record(z.unknown()).optional(),
  metadata: z.record(z.unknown()).optional(),
  score: z.number().optional(),
});

function locationUri(location: Record<string, unknown> | undefined): string | undefined {
  if (!location) return undefined;
  for (const value of Object.values(location)) {
    const uri =
      (value as { uri?: unknown; url?: unknown } | null)?.uri ?? (value as { url?: unknown } | null)?.url;
    if (typeof uri === 'string') return uri;
  }
  return undefined;
}

export interface KnowledgeBaseRetrieval {
  chunks: RetrievedChunk[];
  /** Results the filter should have excluded and Gatehouse dropped on its own check; 0 unless misconfigured. */
  droppedByPermissionCheck: number;
}

/**
 * Results as retrieved chunks, each checked again against the caller (tenant, a shared group,
 * classification within clearance): a knowledge base whose metadata is missing or whose filter was
 * ignored still returns nothing the caller may not read.
 */
export function chunksFromRetrieveResults(
  knowledgeBaseId: string,
  query: Omit<KnowledgeBaseQuery, 'query' | 'topK'>,
  results: readonly unknown[],
): KnowledgeBaseRetrieval {
  const groups = new Set(query.groups);
  const readable = new Set<string>(dataClassesUpTo(query.clearance));
  const chunks: RetrievedChunk[] = [];
  let dropped = 0;
  for (const raw of results) {
    const parsed = retrievalResultSchema.safeParse(raw);
    const text = parsed.success ? parsed.data.content?.text : undefined;
    if (!parsed.success || !text) continue;
    const metadata = parsed.data.metadata ?? {};
    const acl = metadata[KNOWLEDGE_BASE_METADATA_KEYS.aclGroups];
    const classification = metadata[KNOWLEDGE_BASE_METADATA_KEYS.classification];
    const permitted =
      metadata[KNOWLEDGE_BASE_METADATA_KEYS.tenant] === query.tenantId &&
      Array.isArray(acl) &&
      acl.some((group) => typeof group === 'string' && groups.has(group)) &&
      typeof classification === 'string' &&
      readable.has(classification);
    if (!permitted) {
      dropped += 1;
      continue;
    }
    const uri =
      locationUri(parsed.data.location) ?? (metadata['x-amz-bedrock-kb-source-uri'] as string | undefined);
    const documentId = String(
      metadata[KNOWLEDGE_BASE_METADATA_KEYS.documentId] ?? uri ?? `${knowledgeBaseId}:unknown`,
    );
    const version = Number(metadata[KNOWLEDGE_BASE_METADATA_KEYS.documentVersion]);
    chunks.push({
      chunkId: `kb:${knowledgeBaseId}:${sha256Hex(`${documentId}\u0000${text}`).slice(0, 24)}`,
      documentId,
      documentVersion: Number.isInteger(version) && version > 0 ? version : 1,
      title: documentId,
      classification: classification as DataClass,
      text,
      score: parsed.data.score ?? 0,
      sourceUri: uri ?? null,
      instructionSignals: findInstructionSignals(text),
    });
  }
  return { chunks, droppedByPermissionCheck: dropped };
}

export interface BedrockKnowledgeBaseRetrieverOptions {
  knowledgeBaseId: string;
  /** A BedrockAgentRuntimeClient built with `maxAttempts: 1` (createKnowledgeBaseClient). */
  client: BedrockAgentRuntimeClient;
  /** Gives up on one call after this long; default 10 s. */
  timeoutMs?: number;
}

/** Temporal owns retries: the SDK tries once. */
export function createKnowledgeBaseClient(options: {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}): BedrockAgentRuntimeClient {
  return new BedrockAgentRuntimeClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    maxAttempts: 1,
  });
}

/** The Retrieve API of a Bedrock Knowledge Base with the caller's permissions as its metadata filter. */
export async function retrieveFromKnowledgeBase(
  options: BedrockKnowledgeBaseRetrieverOptions,
  query: KnowledgeBaseQuery,
): Promise<KnowledgeBaseRetrieval> {
  const filter = knowledgeBaseFilter(query);
  if (!filter) return { chunks: [], droppedByPermissionCheck: 0 };
  const response = await options.client.send(
    new RetrieveCommand({
      knowledgeBaseId: options.knowledgeBaseId,
      retrievalQuery: { text: query.query.slice(0, 1000) },
      retrievalConfiguration: {
        vectorSearchConfiguration: { numberOfResults: Math.min(Math.max(query.topK, 1), 100), filter },
      },
    }),
    { abortSignal: AbortSignal.timeout(options.timeoutMs ?? 10_000) },
  );
  return chunksFromRetrieveResults(options.knowledgeBaseId, query, response.retrievalResults ?? []);
}
