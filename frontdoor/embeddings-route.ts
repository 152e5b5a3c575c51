import { z } from 'zod';
import type { FrontDoorApp } from './front-door-context';
import { FRONT_DOOR_FAILURE_TYPES, FrontDoorError, openAiErrorBodySchema } from './openai-error';

/** OpenAI's embeddings request (https://platform.openai.com/docs/api-reference/embeddings/create). */
export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1).max(128),
    input: z.union([
      z.string(),
      z.array(z.string()).min(1),
      z.array(z.number().int()).min(1),
      z.array(z.array(z.number().int()).min(1)).min(1),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().positive().optional(),
    user: z.string().optional(),
  })
  .passthrough();

/**
 * `POST /v1/embeddings`. This deployment has no embedding capability yet (retrieval is lexical), so a
 * well-formed request from a valid key gets 501 in OpenAI's error format, saying so, and starts nothing.
 * The route exists so that clients and the OpenAPI document see the contract it will serve.
 */
export function registerEmbeddingsRoute(app: FrontDoorApp): void {
  app.post(
    '/embeddings',
    {
      schema: {
        summary: 'Create embeddings (OpenAI-compatible): 501 until an embedding capability is deployed',
        tags: ['OpenAI-compatible'],
        body: embeddingsRequestSchema,
        response: {
          501: openAiErrorBodySchema.describe('Capability.NotAvailable: no embedding capability is deployed'),
          default: openAiErrorBodySchema,
        },
      },
    },
    async () => {
      throw new FrontDoorError(
        FRONT_DOOR_FAILURE_TYPES.capabilityNotAvailable,
        'Embeddings are not available: this Gatehouse has no embedding capability deployed. ' +
          'Chat completions (POST /v1/chat/completions) and requests (POST /v1/requests) are.',
      );
    },
  );
}
