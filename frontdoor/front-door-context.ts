import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { GatehouseClient } from '../client/gatehouse-client';
import type { FrontDoorDirectory } from './front-door-directory';
import type { ZodTypeProvider } from './zod-route-schemas';

/** The Fastify instance the routes are registered on, typed by their zod schemas. */
export type FrontDoorApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What every route handler may use. */
export interface FrontDoorContext {
  gatehouse: GatehouseClient;
  directory: FrontDoorDirectory;
  /** How often a streaming response asks the workflow for new text. */
  streamPollIntervalMs: number;
  now: () => number;
  /** Epoch seconds the front door started: the `created` of its models. */
  startedAtSeconds: number;
  /** Logs what went wrong on our side (never request content). */
  logError(where: string, error: unknown): void;
}
