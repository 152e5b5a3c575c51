import type { BedrockAgentRuntimeClient } from '@aws-sdk/client-bedrock-agent-runtime';
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { PayloadKeyring } from '../codec/payload-keyring';
import type { AuditCheckpointSink } from '../governance/audit-checkpoint';
import type { AuditKeys } from '../governance/audit-key-store';
import type { Embedder } from '../retrieval/embedder';
import type { RouteTable } from '../domain/route-table';
import type { InferenceRequest } from '../domain/step-contracts';
import type { ModelProvider } from '../providers/model-provider';
import type { TokenCounter } from '../providers/token-counter';
import type { RequestTelemetry } from '../telemetry/request-telemetry';
import type { StreamPublisher } from './stream-relay';

/** What the activities are built from; `createActivities(deps)` injects real or test capabilities. */
export interface ActivityDependencies {
  /** Epoch milliseconds; injected so breaker and expiry tests control time. */
  clock: () => number;
  db: Knex;
  /**
   * The audit trail's keys (held outside the database) and where signed checkpoints of every tenant's
   * chain head go (docs/decisions/0016).
   */
  audit: { keys: AuditKeys; checkpointSink: AuditCheckpointSink };
  /**
   * The payload codec's keys: content the request path keeps by reference (a large rendered prompt) is
   * sealed with them under the tenant's label, as its history payloads are (docs/decisions/0026).
   */
  contentKeys: PayloadKeyring;
  routeTable: RouteTable;
  providers: Partial<Record<InferenceRequest['route']['provider'], ModelProvider>>;
  tokenCounter: TokenCounter;
  /** The embedder of search queries; it must be the one ingestion stored vectors with. Default: the offline one. */
  embedder?: Embedder;
  /** Where streamed deltas go; without one, streaming requests are answered whole. */
  streamPublisher?: StreamPublisher;
  /**
   * Temporal, for what only its history can tell: how an earlier run of a request ended after a Reset or
   * a terminate, and what it spent. Without it those runs are left to the reconciler.
   */
  temporal?: { client: Client; namespace: string };
  /**
   * The Bedrock Runtime client for ApplyGuardrail in a region (the worker's default when the policy names
   * none), built with `maxAttempts: 1`. Without it a policy naming a Bedrock guardrail cannot be served:
   * its guard steps fail and the policy's fail-open / fail-closed rule decides.
   */
  guardrailClient?: (region: string | undefined) => BedrockRuntimeClient;
  /**
   * The Bedrock Agent Runtime client for Knowledge Base retrieval in a region (the worker's default when
   * the policy names none), built with `maxAttempts: 1`.
   */
  knowledgeBaseClient?: (region: string | undefined) => BedrockAgentRuntimeClient;
  /** How long a reservation may stay open before the reconciler returns it to the budget. */
  reservationTtlMs?: number;
  /** Inference spans and the request path's metrics; none when undefined. */
  telemetry?: RequestTelemetry;
}
