/**
 * A Bedrock Knowledge Base as the Retrieve operation of the Bedrock Agent Runtime sees it: documents with
 * metadata, a metadata filter applied before anything is scored, and the results ranked by how many of
 * the query's words each chunk holds. The filter follows the RetrievalFilter union, including its
 * validation (andAll and orAll need 2 to 5 members; one operator per filter object).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Retrieve.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_RetrievalFilter.html
 */
export interface EmulatedKnowledgeBaseDocument {
  text: string;
  /** The S3 location Bedrock reports for the chunk's source document. */
  uri: string;
  /** The document's metadata (from its `.metadata.json` sidecar file in a real knowledge base). */
  metadata: Record<string, string | number | boolean | string[]>;
}

export class RetrieveValidationError extends Error {
  override readonly name = 'ValidationException';
}

type MetadataValue = EmulatedKnowledgeBaseDocument['metadata'][string];

const COMPARISONS: Record<string, (actual: MetadataValue | undefined, expected: unknown) => boolean> = {
  equals: (actual, expected) => actual === expected,
  notEquals: (actual, expected) => actual !== expected,
  in: (actual, expected) => Array.isArray(expected) && expected.includes(actual),
  notIn: (actual, expected) => Array.isArray(expected) && !expected.includes(actual),
  listContains: (actual, expected) => Array.isArray(actual) && actual.includes(expected as string),
  stringContains: (actual, expected) =>
    typeof actual === 'string'
      ? actual.includes(String(expected))
      : Array.isArray(actual) && actual.some((entry) => entry.includes(String(expected))),
  startsWith: (actual, expected) => typeof actual === 'string' && actual.startsWith(String(expected)),
  greaterThan: (actual, expected) => typeof actual === 'number' && actual > Number(expected),
  greaterThanOrEquals: (actual, expected) => typeof actual === 'number' && actual >= Number(expected),
  lessThan: (actual, expected) => typeof actual === 'number' && actual < Number(expected),
  lessThanOrEquals: (actual, expected) => typeof actual === 'number' && actual <= Number(expected),
};

/** Whether a document's metadata passes a RetrievalFilter; a malformed filter is a ValidationException. */
export function matchesFilter(metadata: EmulatedKnowledgeBaseDocument['metadata'], filter: unknown): boolean {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new RetrieveValidationError('filter must be an object');
  }
  const entries = Object.entries(filter as Record<string, unknown>);
  if (entries.length !== 1) {
    throw new RetrieveValidationError('a filter object must set exactly one operator');
  }
  const [operator, operand] = entries[0]!;
  if (operator === 'andAll' || operator === 'orAll') {
    if (!Array.isArray(operand) || operand.length < 2 || operand.length > 5) {
      throw new RetrieveValidationError(`${operator} must hold between 2 and 5 filters`);
    }
    const results = operand.map((member) => matchesFilter(metadata, member));
    return operator === 'andAll' ? results.every(Boolean) : results.some(Boolean);
  }
  const compare = COMPARISONS[operator];
  const attribute = operand as { key?: unknown; value?: unknown } | null;
  if (!compare || typeof attribute?.key !== 'string' || attribute.value === undefined) {
    throw new RetrieveValidationError(`unsupported filter operator '${operator}'`);
  }
  return compare(metadata[attribute.key], attribute.value);
}

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** The Retrieve response body for a request body, over the knowledge base's documents. */
export function retrieveFromKnowledgeBase(
  documents: readonly EmulatedKnowledgeBaseDocument[],
  body: Record<string, unknown>,
): Record<string, unknown> {
  const query = (body['retrievalQuery'] as { text?: unknown } | undefined)?.text;
  if (typeof query !== 'string' || query.length === 0 || query.length > 1000) {
    throw new RetrieveValidationError('retrievalQuery.text must be 1 to 1000 characters');
  }
  const vector = (
    body['retrievalConfiguration'] as
      { vectorSearchConfiguration?: { numberOfResults?: unknown; filter?: unknown } } | undefined
  )?.vectorSearchConfiguration;
  const limit = vector?.numberOfResults ?? 5;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new RetrieveValidationError('numberOfResults must be an integer from 1 to 100');
  }
  const queryWords = words(query);
  const scored = documents
    .filter((document) => vector?.filter === undefined || matchesFilter(document.metadata, vector.filter))
    .map((document) => {
      const documentWords = words(document.text);
      let shared = 0;
      for (const word of queryWords) if (documentWords.has(word)) shared += 1;
      return { document, score: queryWords.size === 0 ? 0 : shared / queryWords.size };
    })
    .filter((entry) => entry.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, limit);
  return {
    retrievalResults: scored.map(({ document, score }) => ({
      content: { type: 'TEXT', text: document.text },
      location: { type: 'S3', s3Location: { uri: document.uri } },
      metadata: { ...document.metadata, 'x-amz-bedrock-kb-source-uri': document.uri },
      score,
    })),
  };
}
