import type { FastifyReply, FastifyRequest } from 'fastify';
import { keyRefusal } from '../domain/api-key-access';
import type { Caller } from '../client/gatehouse-client';
import { FAILURE_TYPES } from '../domain/failure-types';
import { apiKeySchema } from '../domain/request-contract';
import type { FrontDoorDirectory, KeyHolder } from './front-door-directory';
import { FRONT_DOOR_FAILURE_TYPES, FrontDoorError } from './openai-error';
import { formatResetDuration, type RateLimiter } from './rate-limiter';

/** The caller of one HTTP request: their key (which signs the request's proof) and its holder. */
export interface AuthenticatedCaller {
  caller: Caller;
  holder: KeyHolder;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every /v1 route. */
    authenticated: AuthenticatedCaller | null;
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function bearerKey(header: string | undefined): string {
  if (!header) {
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.invalidApiKey,
      'No API key: send your Gatehouse API key as `Authorization: Bearer <key>`',
    );
  }
  const match = BEARER.exec(header);
  if (!match?.[1] || !apiKeySchema.safeParse(match[1]).success) {
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.invalidApiKey,
      'Incorrect API key provided: send a Gatehouse API key as `Authorization: Bearer <key>`',
    );
  }
  return match[1];
}

/**
 * Authenticates the bearer key against the store (the tenant is the key's: callers never name one), then
 * charges one request to the key's rate allowance. Every response carries OpenAI's `x-ratelimit-*`
 * headers; a refusal carries `retry-after`, which OpenAI clients honour.
 */
export async function authenticateCaller(
  request: FastifyRequest,
  reply: FastifyReply,
  directory: FrontDoorDirectory,
  limiter: RateLimiter,
): Promise<void> {
  const apiKey = bearerKey(request.headers.authorization);
  const holder = await directory.findKeyHolder(apiKey);
  if (!holder) {
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.invalidApiKey,
      'Incorrect API key provided: it is unknown or disabled',
    );
  }
  const refusal = holder.key === undefined ? undefined : keyRefusal(holder.key, 'requests', Date.now());
  if (refusal !== undefined) {
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.invalidApiKey,
      `Incorrect API key provided: ${refusal}`,
    );
  }
  if (!holder.tenantActive) {
    throw new FrontDoorError(FAILURE_TYPES.policyDenied, `tenant '${holder.tenantId}' is suspended`);
  }
  const decision = limiter.take(holder.keyId);
  const headers: Record<string, string> = {
    'x-ratelimit-limit-requests': String(decision.limit),
    'x-ratelimit-remaining-requests': String(decision.remaining),
    'x-ratelimit-reset-requests': formatResetDuration(decision.resetMs),
  };
  reply.headers(headers);
  if (!decision.allowed) {
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.rateLimited,
      `Rate limit reached: ${decision.limit} requests per minute for this API key; try again in ${seconds} s`,
      { headers: { 'retry-after': String(seconds), 'retry-after-ms': String(decision.retryAfterMs) } },
    );
  }
  request.authenticated = { caller: { tenantId: holder.tenantId, apiKey }, holder };
}

/** The authenticated caller of a /v1 request (the hook has run: absent only on a wiring mistake). */
export function callerOf(request: FastifyRequest): AuthenticatedCaller {
  if (!request.authenticated) throw new Error(`no authenticated caller on ${request.method} ${request.url}`);
  return request.authenticated;
}
