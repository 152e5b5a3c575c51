import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError } from 'fastify';
import type { GatehouseClient } from '../client/gatehouse-client';
import { FAILURE_TYPES } from '../domain/failure-types';
import { authenticateCaller } from './authenticate-caller';
import { registerChatCompletionsRoute } from './chat-completions-route';
import { registerEmbeddingsRoute } from './embeddings-route';
import type { FrontDoorApp, FrontDoorContext } from './front-door-context';
import { cacheKeyHolders, type FrontDoorDirectory } from './front-door-directory';
import { registerHealthRoutes, type ReadinessCheck } from './health-routes';
import { registerModelsRoutes } from './models-route';
import { describeError, FRONT_DOOR_FAILURE_TYPES, FrontDoorError } from './openai-error';
import { createRateLimiter } from './rate-limiter';
import { registerRequestsRoutes } from './requests-routes';
import {
  jsonSerializerCompiler,
  openApiTransform,
  RequestValidationError,
  zodValidatorCompiler,
  type ZodTypeProvider,
} from './zod-route-schemas';

export interface FrontDoorOptions {
  gatehouse: GatehouseClient;
  directory: FrontDoorDirectory;
  /** Named checks behind `/readyz` (Temporal, the database); each throws when its dependency is down. */
  readiness: Record<string, ReadinessCheck>;
  /** How long a looked-up API key is trusted before the store is asked again; default 5 s, 0 asks every time. */
  keyCacheTtlMs?: number;
  /** Larger bodies get 413 before they are read further. */
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  /** Default 50 ms, as `GatehouseClient.stream`. */
  streamPollIntervalMs?: number;
  /** One line per request: method, route, status, time, tenant and key id prefix (never content). */
  accessLog?: (line: string) => void;
  /** What went wrong on our side, with its stack (never request content). */
  errorLog?: (line: string) => void;
  now?: () => number;
}

/** Fastify error codes for bodies refused before any handler runs. */
const BODY_ERRORS: Record<string, (error: FastifyError, limit: number) => FrontDoorError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, limit) =>
    new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.tooLarge,
      `The request body is larger than the limit of ${limit} bytes; nothing was started`,
    ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (error) =>
    new FrontDoorError(FAILURE_TYPES.requestInvalid, `${error.message}; send application/json`, {
      status: 415,
    }),
};

/** Fastify's own errors and validation failures → front door errors; anything else passes through. */
function asFrontDoorError(error: unknown, bodyLimitBytes: number): unknown {
  if (error instanceof RequestValidationError) {
    return new FrontDoorError(FAILURE_TYPES.requestInvalid, error.message, {
      param: error.param ?? undefined,
    });
  }
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code ? BODY_ERRORS[fastifyError.code] : undefined;
  if (mapped) return mapped(fastifyError as FastifyError, bodyLimitBytes);
  if (fastifyError.code?.startsWith('FST_ERR_CTP_') && (fastifyError.statusCode ?? 500) < 500) {
    return new FrontDoorError(FAILURE_TYPES.requestInvalid, fastifyError.message ?? 'invalid request body', {
      status: fastifyError.statusCode,
    });
  }
  return error;
}

/**
 * The HTTP front door: OpenAI-compatible chat completions, embeddings and models, and the native request
 * API, over `GatehouseClient` — every request one workflow. Bearer API keys decide the tenant; errors
 * use OpenAI's format with Gatehouse's failure types; `/openapi.json` is generated from the route schemas.
 */
export async function buildFrontDoor(options: FrontDoorOptions): Promise<FrontDoorApp> {
  const now = options.now ?? Date.now;
  const accessLog = options.accessLog ?? (() => undefined);
  const errorLog = options.errorLog ?? (() => undefined);
  const context: FrontDoorContext = {
    gatehouse: options.gatehouse,
    directory:
      options.keyCacheTtlMs === 0
        ? options.directory
        : cacheKeyHolders(options.directory, { ttlMs: options.keyCacheTtlMs ?? 5_000, now }),
    streamPollIntervalMs: options.streamPollIntervalMs ?? 50,
    now,
    startedAtSeconds: Math.floor(now() / 1000),
    logError: (where, error) => errorLog(`error in ${where}: ${(error as Error)?.stack ?? String(error)}`),
  };
  const limiter = createRateLimiter({ perMinute: options.rateLimitPerMinute, now });
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    // Clients built by string concatenation send `/v1/models/`; answer it as `/v1/models`.
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);
  app.decorateRequest('authenticated', null);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Gatehouse front door',
        version: '1',
        description:
          'OpenAI-compatible chat completions, embeddings and models, and the native request API. Every ' +
          'request is one durable, audited Gatehouse workflow. Errors use OpenAI’s format; `code` is the ' +
          'Gatehouse failure type.',
      },
      components: {
        securitySchemes: {
          gatehouseApiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'A Gatehouse API key; the tenant is the key’s',
          },
        },
      },
      security: [{ gatehouseApiKey: [] }],
    },
    transform: openApiTransform,
  });

  app.setErrorHandler((error, request, reply) => {
    const described = describeError(asFrontDoorError(error, options.bodyLimitBytes));
    if (described.internal)
      context.logError(`${request.method} ${request.routeOptions.url ?? request.url}`, error);
    return reply.code(described.status).headers(described.headers).send(described.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const described = describeError(
      new FrontDoorError(
        FRONT_DOOR_FAILURE_TYPES.endpointNotFound,
        `There is no ${request.method} ${request.url.split('?')[0]}; /openapi.json lists the endpoints`,
      ),
    );
    return reply.code(described.status).headers(described.headers).send(described.body);
  });
  app.addHook('onResponse', async (request, reply) => {
    const who = request.authenticated
      ? ` tenant=${request.authenticated.holder.tenantId} key=${request.authenticated.holder.keyId.slice(0, 8)}`
      : '';
    accessLog(
      `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms${who}`,
    );
  });

  registerHealthRoutes(app, options.readiness);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', async (request, reply) =>
        authenticateCaller(request, reply, context.directory, limiter),
      );
      registerChatCompletionsRoute(v1, context);
      registerEmbeddingsRoute(v1);
      registerModelsRoutes(v1, context);
      registerRequestsRoutes(v1, context);
    },
    { prefix: '/v1' },
  );
  await app.ready();
  return app;
}

export interface FrontDoorHandle {
  /** Base URL, e.g. http://127.0.0.1:8080; OpenAI clients use `${url}/v1`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds the front door and listens; port 0 picks a free one. */
export async function startFrontDoor(
  options: FrontDoorOptions & { host: string; port: number },
): Promise<FrontDoorHandle> {
  const app = await buildFrontDoor(options);
  await app.listen({ host: options.host, port: options.port });
  const { port } = app.server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => app.close(),
  };
}
