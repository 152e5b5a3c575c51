import type { RetrievedChunk } from '../domain/step-contracts';

/**
 * The prompt asks models to cite as `[documentId]`. Only markers naming a document that was actually
 * retrieved count, so a model cannot invent a citation. Models often merge citations (`[a, b]`), so a
 * marker that is not itself an id is read as a comma- or semicolon-separated list. Order of first
 * appearance, no duplicates.
 */
export function extractCitations(
  text: string,
  chunks: readonly Pick<RetrievedChunk, 'documentId'>[],
): string[] {
  const known = new Set(chunks.map((chunk) => chunk.documentId));
  const cited = new Set<string>();
  for (const match of text.matchAll(/\[([^[\]\n]{1,400})\]/g)) {
    const content = (match[1] ?? '').trim();
    const candidates = known.has(content) ? [content] : content.split(/[,;]/).map((part) => part.trim());
    for (const candidate of candidates) if (known.has(candidate)) cited.add(candidate);
  }
  return [...cited];
}
