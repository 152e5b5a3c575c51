import { routeSchema, type Route } from '../../domain/route-table';
import type { InferenceRequest, RetrievedChunk } from '../../domain/step-contracts';

export const REFUND_CHUNKS: RetrievedChunk[] = [
  {
    chunkId: 'refund-policy#0',
    documentId: 'refund-policy',
    documentVersion: 2,
    title: 'Refund policy',
    classification: 'public',
    text: 'Refunds are paid within 14 days of the return. Shipping costs are not refunded.',
    score: 0.9,
  },
  {
    chunkId: 'returns-faq#0',
    documentId: 'returns-faq',
    documentVersion: 1,
    title: 'Returns FAQ',
    classification: 'internal',
    text: 'Items can be returned for 30 days. Sale items are final.',
    score: 0.7,
  },
];

/** The fence governance/assemble-prompt.ts writes around retrieved text, which the emulators quote from. */
function quote(chunk: RetrievedChunk): string {
  return `<document id="${chunk.documentId}" version="${chunk.documentVersion}" title="${chunk.title}">\n${chunk.text}\n</document>`;
}

export function buildRoute(overrides: Partial<Route> & Pick<Route, 'provider' | 'model'>): Route {
  return routeSchema.parse({
    id: `${overrides.provider}-test`,
    label: `${overrides.provider} test route`,
    priceUsdPerMillionTokens: { input: 1, output: 2 },
    contextWindowTokens: 32_000,
    maxOutputTokens: 512,
    dataClasses: ['internal'],
    taskQueue: `gatehouse-route-${overrides.provider}-test`,
    retry: { maximumAttempts: 2, initialIntervalMs: 10 },
    ...overrides,
  });
}

export function buildInferenceRequest(
  route: Route,
  overrides: Partial<InferenceRequest> = {},
): InferenceRequest {
  const question = 'How long do refunds take?';
  const chunks = overrides.chunks ?? REFUND_CHUNKS;
  return {
    workflowId: 'gatehouse/acme/request-1',
    tenantId: 'acme',
    attempt: 1,
    route,
    prompt: {
      system: 'Answer from the documents only and cite them as [documentId].',
      user: `Documents:\n${chunks.map(quote).join('\n\n')}\n\nQuestion: ${question}`,
    },
    promptTokens: 100,
    question,
    chunks,
    maxOutputTokens: 256,
    responseFormat: 'text',
    stream: false,
    attribution: { principalId: 'acme-analyst', taskType: 'qa', promptRef: 'qa@1' },
    ...overrides,
  };
}
