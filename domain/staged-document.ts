import { z } from 'zod';
import { dataClassSchema } from './data-class';
import { MAX_DOCUMENT_CHARS } from './ingestion-contract';

/**
 * One document as a client stages it for `ingestDocumentsWorkflow`: its raw content and format (the
 * worker converts, normalises and chunks it), who may read it, and where it came from. A deletion
 * names the document only. Validated by the client before staging and by the activity on reading.
 */
export const stagedDocumentSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('upsert'),
    externalId: z.string().min(1).max(500),
    title: z.string().max(1000).optional(),
    content: z.string().max(MAX_DOCUMENT_CHARS, `documents are at most ${MAX_DOCUMENT_CHARS} characters`),
    format: z.enum(['markdown', 'text', 'html']),
    aclGroups: z.array(z.string().min(1).max(200)).min(1, 'a document needs at least one ACL group').max(100),
    classification: dataClassSchema,
    sourceUri: z.string().min(1).max(2000).optional(),
    sourceVersion: z.string().min(1).max(200).optional(),
  }),
  z.object({ kind: z.literal('delete'), externalId: z.string().min(1).max(500) }),
]);
export type StagedDocument = z.infer<typeof stagedDocumentSchema>;
