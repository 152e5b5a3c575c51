import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { dataClassSchema, type DataClass } from '../domain/data-class';
import { MAX_DOCUMENT_CHARS } from '../domain/ingestion-contract';
import { stagedDocumentSchema, type StagedDocument } from '../domain/staged-document';
import { sourceFormatOf } from '../retrieval/source-document';

/** What every document of a source gets unless its own line says otherwise. */
export interface IngestDefaults {
  tenantId: string;
  aclGroups: string[];
  classification: DataClass;
  /** The source's version label; files default to their modification time. */
  sourceVersion?: string;
}

export interface ReadSource {
  documents: StagedDocument[];
  /** The URI prefix every document of a directory shares (what `--prune` prunes under); none for JSONL. */
  sourcePrefix?: string;
  skippedFiles: string[];
}

/** Raised with the file or line at fault, so the whole source is refused before anything is staged. */
export class IngestSourceError extends Error {
  override readonly name = 'IngestSourceError';
}

/**
 * One JSONL line: `id` names the document (unique within the tenant); `text` (or `content`) is
 * Markdown, plain text or HTML (`format`, default markdown); the rest default to the command's options.
 * `{"id": "…", "deleted": true}` deletes the document.
 */
const jsonlLineSchema = z
  .object({
    id: z.string().min(1).max(500),
    tenant: z.string().optional(),
    title: z.string().max(1000).optional(),
    text: z.string().optional(),
    content: z.string().optional(),
    format: z.enum(['markdown', 'text', 'html']).optional(),
    acl: z.array(z.string().min(1)).min(1).optional(),
    classification: dataClassSchema.optional(),
    uri: z.string().min(1).max(2000).optional(),
    version: z.union([z.string().min(1).max(200), z.number()]).optional(),
    deleted: z.boolean().optional(),
  })
  .strict();

/** Reads a directory (Markdown, text and HTML files, recursively) or a JSONL file into staged documents. */
export async function readIngestSource(source: string, defaults: IngestDefaults): Promise<ReadSource> {
  let stats;
  try {
    stats = statSync(source);
  } catch {
    throw new IngestSourceError(`${source}: no such file or directory`);
  }
  if (stats.isDirectory()) return readDirectory(path.resolve(source), defaults);
  return { documents: await readJsonl(source, defaults), skippedFiles: [] };
}

function readDirectory(root: string, defaults: IngestDefaults): ReadSource {
  const documents: StagedDocument[] = [];
  const skippedFiles: string[] = [];
  const rootUri = pathToFileURL(root).href;
  const walk = (directory: string) => {
    const entries = readdirSync(directory, { withFileTypes: true }).sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const file = path.join(directory, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        continue;
      }
      const relative = path.relative(root, file).split(path.sep).join('/');
      const format = entry.isFile() ? sourceFormatOf(entry.name) : undefined;
      if (format === undefined) {
        skippedFiles.push(relative);
        continue;
      }
      const content = readFileSync(file, 'utf8');
      if (content.length > MAX_DOCUMENT_CHARS) {
        throw new IngestSourceError(
          `${relative}: ${content.length} characters; documents are at most ${MAX_DOCUMENT_CHARS}`,
        );
      }
      documents.push({
        kind: 'upsert',
        externalId: relative,
        content,
        format,
        aclGroups: defaults.aclGroups,
        classification: defaults.classification,
        sourceUri: pathToFileURL(file).href,
        sourceVersion: defaults.sourceVersion ?? statSync(file).mtime.toISOString(),
      });
    }
  };
  walk(root);
  return { documents, sourcePrefix: `${rootUri}/`, skippedFiles };
}

async function readJsonl(file: string, defaults: IngestDefaults): Promise<StagedDocument[]> {
  const documents: StagedDocument[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (line.trim() === '') continue;
    const where = `${file}:${number}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      throw new IngestSourceError(`${where}: not JSON (${(error as Error).message})`);
    }
    const parsed = jsonlLineSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new IngestSourceError(
        `${where}: ${issue ? `${issue.path.join('.') || 'line'}: ${issue.message}` : 'invalid'}`,
      );
    }
    const value = parsed.data;
    if (value.tenant !== undefined && value.tenant !== defaults.tenantId) {
      throw new IngestSourceError(
        `${where}: tenant '${value.tenant}' is not the ingestion's tenant '${defaults.tenantId}'`,
      );
    }
    const candidate: StagedDocument = value.deleted
      ? { kind: 'delete', externalId: value.id }
      : {
          kind: 'upsert',
          externalId: value.id,
          title: value.title,
          content: value.text ?? value.content ?? '',
          format: value.format ?? 'markdown',
          aclGroups: value.acl ?? defaults.aclGroups,
          classification: value.classification ?? defaults.classification,
          sourceUri: value.uri,
          sourceVersion: value.version === undefined ? defaults.sourceVersion : String(value.version),
        };
    if (candidate.kind === 'upsert' && value.text === undefined && value.content === undefined)
      throw new IngestSourceError(`${where}: a document needs "text" (or "content"), or "deleted": true`);
    const checked = stagedDocumentSchema.safeParse(candidate);
    if (!checked.success)
      throw new IngestSourceError(`${where}: ${checked.error.issues[0]?.message ?? 'invalid document'}`);
    documents.push(checked.data);
  }
  const seen = new Map<string, number>();
  documents.forEach((document, index) => {
    const earlier = seen.get(document.externalId);
    if (earlier !== undefined)
      throw new IngestSourceError(`${file}: document '${document.externalId}' appears twice`);
    seen.set(document.externalId, index);
  });
  return documents;
}
