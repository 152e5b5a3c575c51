export interface ChunkTextOptions {
  /** Upper bound on a chunk's length in characters; only a single word longer than this can exceed it. */
  targetChars?: number;
  /** Up to this many trailing characters (whole sentences) of a chunk are repeated at the start of the next. */
  overlapChars?: number;
}

/** A chunk and where it sits in the text it was cut from (`text.slice(start, end)`, whitespace aside). */
export interface TextChunk {
  text: string;
  start: number;
  end: number;
}

interface Unit {
  text: string;
  /** Offsets of the unit in the chunked text. */
  start: number;
  end: number;
  /** First sentence of a paragraph: joined with a paragraph break instead of a space. */
  startsParagraph: boolean;
  /** Length of the whole paragraph this unit opens (0 for other units). */
  paragraphLength: number;
}

const DEFAULT_TARGET_CHARS = 800;
const DEFAULT_OVERLAP_CHARS = 120;

/**
 * Splits normalised text into chunks of at most `targetChars`. Chunks are made of whole sentences; a
 * paragraph that would not fit in the current chunk but fits in an empty one starts a new chunk, so
 * paragraphs are kept together when possible. Consecutive chunks share up to `overlapChars` of whole
 * sentences so an answer straddling a boundary is still found. Deterministic: same input, same chunks.
 */
export function chunkText(text: string, options: ChunkTextOptions = {}): string[] {
  return chunkTextWithOffsets(text, options).map((chunk) => chunk.text);
}

/**
 * `chunkText` with each chunk's offsets in `text`. The offsets are exact for normalised text
 * (normalizeText), where words are separated by one character and paragraphs by a blank line.
 */
export function chunkTextWithOffsets(text: string, options: ChunkTextOptions = {}): TextChunk[] {
  const targetChars = Math.max(1, options.targetChars ?? DEFAULT_TARGET_CHARS);
  // Overlap of at most half the target leaves room for new text in every chunk, so chunking advances.
  const overlapChars = Math.min(Math.max(0, options.overlapChars ?? DEFAULT_OVERLAP_CHARS), targetChars / 2);
  const chunks: TextChunk[] = [];
  let current: Unit[] = [];
  let freshUnits = 0;

  for (const unit of splitUnits(text, targetChars)) {
    const needed =
      unit.startsParagraph && unit.paragraphLength <= targetChars ? unit.paragraphLength : unit.text.length;
    if (current.length > 0 && joinedLength(current) + 2 + needed > targetChars) {
      if (freshUnits > 0) {
        chunks.push(toChunk(current));
        current = trailingOverlap(current, overlapChars);
        freshUnits = 0;
      }
      // The carried-over overlap must not push out text that fits in a chunk of its own.
      if (joinedLength(current) + 2 + needed > targetChars) current = [];
    }
    current.push(unit);
    freshUnits += 1;
  }
  if (freshUnits > 0) chunks.push(toChunk(current));
  return chunks;
}

function toChunk(units: Unit[]): TextChunk {
  return {
    text: joinUnits(units),
    start: (units[0] as Unit).start,
    end: (units[units.length - 1] as Unit).end,
  };
}

function trailingOverlap(units: Unit[], overlapChars: number): Unit[] {
  const overlap: Unit[] = [];
  let length = 0;
  // Never the whole chunk: index 0 stays out, so every chunk contributes something new.
  for (let index = units.length - 1; index > 0; index -= 1) {
    const unit = units[index] as Unit;
    if (length + unit.text.length + 1 > overlapChars) break;
    overlap.unshift(unit);
    length += unit.text.length + 1;
  }
  return overlap;
}

function splitUnits(text: string, targetChars: number): Unit[] {
  const units: Unit[] = [];
  const paragraphPattern = /[^]+?(?=\n{2,}|$)/g;
  for (const match of text.matchAll(paragraphPattern)) {
    const raw = match[0];
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    // Sentences and word runs are consecutive pieces of the paragraph, one separator apart.
    let cursor = (match.index ?? 0) + raw.indexOf(trimmed);
    splitSentences(trimmed, targetChars).forEach((sentence, index) => {
      const start = text.indexOf(sentence.slice(0, 1), cursor);
      const end = start + sentence.length;
      units.push({
        text: sentence,
        start,
        end,
        startsParagraph: index === 0,
        paragraphLength: index === 0 ? trimmed.length : 0,
      });
      cursor = end;
    });
  }
  return units;
}

function splitSentences(paragraph: string, targetChars: number): string[] {
  // A sentence ends at . ! or ? (optionally followed by closing quotes/brackets) and whitespace.
  return paragraph
    .split(/(?<=[.!?]["'\u201D\u2019)\]]*)\s+/)
    .flatMap((sentence) => (sentence.length <= targetChars ? [sentence] : splitWords(sentence, targetChars)));
}

function splitWords(sentence: string, targetChars: number): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const word of sentence.split(/\s+/)) {
    if (current !== '' && current.length + 1 + word.length > targetChars) {
      pieces.push(current);
      current = '';
    }
    current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

function joinUnits(units: Unit[]): string {
  return units
    .map((unit, index) => (index === 0 ? unit.text : `${unit.startsParagraph ? '\n\n' : ' '}${unit.text}`))
    .join('');
}

function joinedLength(units: Unit[]): number {
  return joinUnits(units).length;
}
