import { z } from 'zod';

/** Where a tenant's retrieve step searches: its ingested documents, or a Bedrock Knowledge Base. */
export const retrievalSourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local') }).strict(),
  z
    .object({
      type: z.literal('bedrock-knowledge-base'),
      knowledgeBaseId: z.string().regex(/^[0-9a-zA-Z]{10}$/, 'knowledgeBaseId is 10 letters or digits'),
      region: z
        .string()
        .regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'region must be an AWS region such as eu-central-1')
        .optional(),
    })
    .strict(),
]);
export type RetrievalSource = z.infer<typeof retrievalSourceSchema>;

export const RETRIEVAL_RANKINGS = ['hybrid', 'vector', 'lexical'] as const;
export type RetrievalRanking = (typeof RETRIEVAL_RANKINGS)[number];

/** A tenant policy's `retrieval` section: whether, how much, where and how the request path searches. */
export const retrievalPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    topK: z.number().int().min(1).max(50).default(4),
    contextTokenBudget: z.number().int().min(0).max(200_000).default(1500),
    /**
     * Per task type: `always` retrieves for every request, `auto` lets the request's hint and the query
     * classifier decide, `never` does not search. Tasks not listed use the defaults in
     * domain/retrieval-plan.ts (qa, summarize, extract: auto; anything else: never).
     */
    tasks: z.record(z.enum(['always', 'auto', 'never'])).default({}),
    /**
     * Where the retrieve step searches: the tenant's ingested documents (`local`, the default), or a
     * Bedrock Knowledge Base through the Retrieve API, with the caller's tenant, ACL groups and
     * clearance as its metadata filter.
     */
    source: retrievalSourceSchema.default({ type: 'local' }),
    /**
     * How the tenant's ingested documents are ranked: BM25 and vectors fused (`hybrid`, the default),
     * vectors alone (`vector`: paraphrases, given a strong embedder) or BM25 alone (`lexical`: exact
     * identifiers and codes). A Knowledge Base ranks for itself.
     */
    ranking: z.enum(RETRIEVAL_RANKINGS).default('hybrid'),
  })
  .default({});
