import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { PayloadKeyring } from '../codec/payload-keyring';
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

interface BedrockConnection {
  defaultRegion: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** One client per region (the default region when none is named), built by `create` on first use. */
function perRegion<T>(
  bedrock: BedrockConnection,
  create: (options: { region: string } & Omit<BedrockConnection, 'defaultRegion'>) => T,
): (region: string | undefined) => T {
  const clients = new Map<string, T>();
  return (region) => {
    const key = region ?? bedrock.defaultRegion;
    let client = clients.get(key);
    if (!client) {
      client = create({ region: key, endpoint: bedrock.endpoint, credentials: bedrock.credentials });
      clients.set(key, client);
    }
    return client;
  };
}

/** Wires the real capabilities into the activities; the one place that chooses implementations. */
export function buildActivities(options: {
  db: Knex;
  routeTable: RouteTable;
  client: Client;
  /** Audit keys and the checkpoint sink: every worker of a deployment holds the same keys. */
  audit: ActivityDependencies['audit'];
  /** The payload keys the data converter encrypts with: stored content is sealed with them too. */
  keyring: PayloadKeyring;
  providers?: Partial<ActivityDependencies['providers']>;
  clock?: () => number;
  /** How long reservations stay open before the reconciler frees them (default one hour). */
  reservationTtlMs?: number;
  bedrock?: BedrockConnection;
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
  // ApplyGuardrail and knowledge-base clients are built per region on first use (workers without AWS
  // credentials never build one).
  const guardrailClient = perRegion(bedrock, createGuardrailClient);
  const knowledgeBaseClient = perRegion(bedrock, createKnowledgeBaseClient);
  return createActivities({
    db: options.db,
    audit: options.audit,
    contentKeys: options.keyring,
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
