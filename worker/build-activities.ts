import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import {
  createActivities,
  type ActivityDependencies,
  type GatehouseActivities,
} from '../activities/create-activities';
import { closedHealth, type RouteHealth } from '../domain/circuit-breaker';
import type { RouteTable } from '../domain/route-table';
import { createGuardrailClient } from '../governance/guardrails';
import { createKnowledgeBaseClient } from '../retrieval/bedrock-knowledge-base-retriever';
import type { Embedder } from '../retrieval/embedder';
import { createBedrockProvider } from '../providers/bedrock-provider';
import { createExtractiveProvider } from '../providers/extractive-provider';
import { createOpenAiCompatibleProvider } from '../providers/openai-compatible-provider';
import { createLocalTokenCounter } from '../providers/token-counter';
import { getRouteHealth } from '../store/route-health-repository';
import type { RequestTelemetry } from '../telemetry/request-telemetry';
import { createSignalStreamPublisher } from './signal-stream-publisher';

/** Wires the real capabilities into the activities; the one place that chooses implementations. */
export function buildActivities(options: {
  db: Knex;
  routeTable: RouteTable;
  client: Client;
  /** Audit keys and the checkpoint sink: every worker of a deployment holds the same keys. */
  audit: ActivityDependencies['audit'];
  providers?: Partial<ActivityDependencies['providers']>;
  clock?: () => number;
  /** How long reservations stay open before the reconciler frees them (default one hour). */
  reservationTtlMs?: number;
  bedrock?: {
    defaultRegion: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  openAiCompatibleApiKey?: string;
  /** The embedder of search queries (GATEHOUSE_EMBEDDER); default the offline one. */
  embedder?: Embedder;
  /** Spans and metrics of the request path; none when undefined. */
  telemetry?: RequestTelemetry;
}): GatehouseActivities {
  const tokenCounter = createLocalTokenCounter();
  const routeIds = options.routeTable.routes.map((route) => route.id);
  options.telemetry?.observeCircuits(async () => {
    // A scrape during a database outage reports no circuit state rather than failing.
    const health = await getRouteHealth(options.db, routeIds).catch(
      () => ({}) as Record<string, RouteHealth>,
    );
    return routeIds.map((routeId) => health[routeId] ?? closedHealth(routeId));
  });
  const bedrock = options.bedrock ?? { defaultRegion: 'us-east-1' };
  // One ApplyGuardrail client per region, built on first use (workers without AWS credentials never build one).
  const guardrailClients = new Map<string, ReturnType<typeof createGuardrailClient>>();
  const guardrailClient = (region: string | undefined) => {
    const key = region ?? bedrock.defaultRegion;
    let client = guardrailClients.get(key);
    if (!client) {
      client = createGuardrailClient({
        region: key,
        endpoint: bedrock.endpoint,
        credentials: bedrock.credentials,
      });
      guardrailClients.set(key, client);
    }
    return client;
  };
  const knowledgeBaseClients = new Map<string, ReturnType<typeof createKnowledgeBaseClient>>();
  const knowledgeBaseClient = (region: string | undefined) => {
    const key = region ?? bedrock.defaultRegion;
    let client = knowledgeBaseClients.get(key);
    if (!client) {
      client = createKnowledgeBaseClient({
        region: key,
        endpoint: bedrock.endpoint,
        credentials: bedrock.credentials,
      });
      knowledgeBaseClients.set(key, client);
    }
    return client;
  };
  return createActivities({
    db: options.db,
    audit: options.audit,
    routeTable: options.routeTable,
    tokenCounter,
    embedder: options.embedder,
    clock: options.clock ?? Date.now,
    streamPublisher: createSignalStreamPublisher(options.client),
    temporal: { client: options.client, namespace: options.client.options.namespace },
    reservationTtlMs: options.reservationTtlMs,
    guardrailClient,
    knowledgeBaseClient,
    telemetry: options.telemetry,
    providers: {
      extractive: createExtractiveProvider(tokenCounter),
      // Clients are built lazily per region, so a worker without AWS credentials only fails Bedrock attempts.
      bedrock: createBedrockProvider(bedrock),
      'openai-compatible': createOpenAiCompatibleProvider({ apiKey: options.openAiCompatibleApiKey }),
      ...options.providers,
    },
  });
}
