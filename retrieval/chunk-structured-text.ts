import type { TextChunk } from './chunk-text';

export interface StructuredChunkOptions {
  /** A chunk holds about this many tokens (counted piece by piece), unless one word alone is longer. */
  targetTokens?: number;
  /** Up to this many tokens of whole sentences or lines of a chunk are repeated at the start of the next. */
  overlapTokens?: number;
  /** Counts tokens; the worker passes its tokenizer. Default: one token per four characters. */
  countTokens?: (text: string) => number;
}

export const DEFAULT_TARGET_TOKENS = 256;
export const DEFAULT_OVERLAP_TOKENS = 32;

type BlockKind = 'heading' | 'code' | 'prose';

/** A piece of a block that is never cut: a heading, a whole code block, a sentence, a line of code. */
interface Unit {
  kind: BlockKind;
  start: number;
  end: number;
  tokens: number;
  /** First unit of its block: a block that fits in one chunk is never split over two. */
  blockStart: boolean;
  /** Tokens of the whole block this unit opens (0 for later units of the block). */
  blockTokens: number;
}

interface Block {
  kind: BlockKind;
  start: number;
  end: number;
}

const HEADING = /^#{1,6} \S/;
const FENCE = /^(```|~~~)/;

/**
 * Cuts Markdown-like normalised text (what ingestion makes of Markdown, HTML and plain text) into chunks
 * of about `targetTokens`, following its structure: a heading starts a new chunk once the current one
 * is a quarter full and never ends one, a code block or paragraph that fits in a chunk is kept whole,
 * and only a block too long for any chunk is cut — prose between sentences, code between lines.
 * Consecutive chunks of one section share up to `overlapTokens` of whole sentences. Every chunk is a
 * slice of the text (`text.slice(start, end)`), so offsets are exact. Linear in the text's length.
 */
export function chunkStructuredText(text: string, options: StructuredChunkOptions = {}): TextChunk[] {
  const target = Math.max(1, options.targetTokens ?? DEFAULT_TARGET_TOKENS);
  // At most half the target, so every chunk brings new text and chunking advances.
  const overlap = Math.min(Math.max(0, options.overlapTokens ?? DEFAULT_OVERLAP_TOKENS), target / 2);
  const count = options.countTokens ?? ((piece: string) => Math.ceil(piece.length / 4));
  const units = splitBlocks(text).flatMap((block) => unitsOf(text, block, target, count));

  const chunks: TextChunk[] = [];
  let current: Unit[] = [];
  let currentTokens = 0;
  let fresh = 0;
  const flush = (carryOverlap: boolean) => {
    // A heading belongs to what follows it: trailing headings move on to the next chunk.
    let keep = current.length;
    while (keep > 0 && (current[keep - 1] as Unit).kind === 'heading') keep -= 1;
    const trailingHeadings = current.slice(keep);
    const body = current.slice(0, keep);
    if (body.length > 0 && fresh > trailingHeadings.length) {
      chunks.push({
        text: text.slice((body[0] as Unit).start, (body[body.length - 1] as Unit).end),
        start: (body[0] as Unit).start,
        end: (body[body.length - 1] as Unit).end,
      });
    }
    const carried = carryOverlap && trailingHeadings.length === 0 ? trailingOverlap(body, overlap) : [];
    current = [...carried, ...trailingHeadings];
    currentTokens = current.reduce((sum, unit) => sum + unit.tokens, 0);
    fresh = trailingHeadings.length;
  };

  for (const unit of units) {
    const needed = unit.blockStart && unit.blockTokens <= target ? unit.blockTokens : unit.tokens;
    if (unit.kind === 'heading' && fresh > 0 && currentTokens >= target / 4) flush(false);
    else if (current.length > 0 && currentTokens + needed > target) {
      if (fresh > 0) flush(true);
      // The carried overlap must not push out a block that fits in a chunk of its own.
      if (currentTokens + needed > target) {
        current = current.filter((kept) => kept.kind === 'heading');
        currentTokens = current.reduce((sum, kept) => sum + kept.tokens, 0);
        if (currentTokens + needed > target) {
          current = [];
          currentTokens = 0;
        }
        fresh = current.length;
      }
    }
    current.push(unit);
    currentTokens += unit.tokens;
    fresh += 1;
  }
  if (fresh > 0) flush(false);
  return chunks;
}

function trailingOverlap(units: Unit[], overlapTokens: number): Unit[] {
  const carried: Unit[] = [];
  let tokens = 0;
  // Never the whole chunk (index 0 stays out), and never a code block or heading out of its context.
  for (let index = units.length - 1; index > 0; index -= 1) {
    const unit = units[index] as Unit;
    if (unit.kind !== 'prose' || tokens + unit.tokens > overlapTokens) break;
    carried.unshift(unit);
    tokens += unit.tokens;
  }
  return carried;
}

/** Headings (one line), fenced code blocks (fence to fence, blank lines included) and paragraphs. */
function splitBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let position = 0;
  let paragraphStart = -1;
  let paragraphEnd = -1;
  const closeParagraph = () => {
    if (paragraphStart >= 0) blocks.push({ kind: 'prose', start: paragraphStart, end: paragraphEnd });
    paragraphStart = -1;
  };
  while (position < text.length) {
    const newline = text.indexOf('\n', position);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(position, lineEnd);
    const fence = FENCE.exec(line);
    if (fence) {
      closeParagraph();
      // The block runs to the closing fence of the same kind, or to the end of the text.
      let end = text.length;
      let next = text.length;
      let search = lineEnd + 1;
      while (search < text.length) {
        const close = text.indexOf('\n', search);
        const closeEnd = close === -1 ? text.length : close;
        if (text.startsWith(fence[1] as string, search)) {
          end = closeEnd;
          next = closeEnd + 1;
          break;
        }
        search = closeEnd + 1;
      }
      blocks.push({ kind: 'code', start: position, end });
      position = next;
      continue;
    }
    if (HEADING.test(line)) {
      closeParagraph();
      blocks.push({ kind: 'heading', start: position, end: lineEnd });
    } else if (line.trim() === '') {
      closeParagraph();
    } else {
      if (paragraphStart < 0) paragraphStart = position;
      paragraphEnd = lineEnd;
    }
    position = lineEnd + 1;
  }
  closeParagraph();
  return blocks;
}

function unitsOf(text: string, block: Block, target: number, count: (piece: string) => number): Unit[] {
  const blockText = text.slice(block.start, block.end);
  const blockTokens = count(blockText);
  if (blockTokens <= target || block.kind === 'heading') {
    return [
      {
        kind: block.kind,
        start: block.start,
        end: block.end,
        tokens: blockTokens,
        blockStart: true,
        blockTokens,
      },
    ];
  }
  // Too long for one chunk: prose by sentence, code by line, and a piece still too long by word.
  const separator = block.kind === 'code' ? /\n/g : /(?<=[.!?]["'\u201D\u2019)\]]*)\s+/g;
  const units: Unit[] = [];
  for (const [start, end] of pieces(blockText, separator)) {
    const pieceTokens = count(blockText.slice(start, end));
    const ranges =
      pieceTokens <= target ? [[start, end] as const] : wordRanges(blockText, start, end, target, count);
    for (const [from, to] of ranges) {
      units.push({
        kind: block.kind,
        start: block.start + from,
        end: block.start + to,
        tokens: ranges.length === 1 ? pieceTokens : count(blockText.slice(from, to)),
        blockStart: units.length === 0,
        blockTokens: units.length === 0 ? blockTokens : 0,
      });
    }
  }
  return units;
}

/** The ranges of `text` between matches of `separator`, empty ones dropped. */
function pieces(text: string, separator: RegExp): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (const match of text.matchAll(separator)) {
    const index = match.index ?? 0;
    if (index > start) ranges.push([start, index]);
    start = index + match[0].length;
  }
  if (start < text.length) ranges.push([start, text.length]);
  return ranges;
}

/** Word runs of `text.slice(start, end)` of at most `target` tokens each (a longer word stands alone). */
function wordRanges(
  text: string,
  start: number,
  end: number,
  target: number,
  count: (piece: string) => number,
): Array<readonly [number, number]> {
  const ranges: Array<readonly [number, number]> = [];
  let rangeStart = -1;
  let rangeEnd = -1;
  let tokens = 0;
  for (const match of text.slice(start, end).matchAll(/\S+/g)) {
    const wordStart = start + (match.index ?? 0);
    const wordEnd = wordStart + match[0].length;
    const wordTokens = count(match[0]);
    if (rangeStart >= 0 && tokens + wordTokens > target) {
      ranges.push([rangeStart, rangeEnd]);
      rangeStart = -1;
      tokens = 0;
    }
    if (rangeStart < 0) rangeStart = wordStart;
    rangeEnd = wordEnd;
    tokens += wordTokens;
  }
  if (rangeStart >= 0) ranges.push([rangeStart, rangeEnd]);
  return ranges;
}
