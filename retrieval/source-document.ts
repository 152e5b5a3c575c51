import { normalizeText } from './normalize-text';

/** The formats ingestion reads; everything becomes Markdown-like text that the structured chunker follows. */
export const SOURCE_FORMATS = ['markdown', 'text', 'html'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** The format a file name says it has, or undefined for files ingestion does not read. */
export function sourceFormatOf(fileName: string): SourceFormat | undefined {
  const extension = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (extension === 'md' || extension === 'markdown') return 'markdown';
  if (extension === 'txt' || extension === 'text') return 'text';
  if (extension === 'html' || extension === 'htm') return 'html';
  return undefined;
}

export interface IngestibleText {
  title: string;
  /** Normalised text: headings as `# …` lines, code in fenced blocks, paragraphs apart by a blank line. */
  text: string;
}

/**
 * Turns a source document into the text that is hashed, chunked and embedded, and its title: the given
 * one, else the first heading (Markdown `#`, HTML `<title>` or `<h1>`), else `fallbackTitle`.
 */
export function toIngestibleText(
  content: string,
  format: SourceFormat,
  fallbackTitle: string,
  title?: string,
): IngestibleText {
  if (format === 'html') {
    const converted = htmlToText(content);
    return {
      title: pickTitle(title, converted.title, firstHeading(converted.text), fallbackTitle),
      text: converted.text,
    };
  }
  const text = normalizeText(content);
  return {
    title: pickTitle(title, format === 'markdown' ? firstHeading(text) : undefined, fallbackTitle),
    text,
  };
}

function pickTitle(...candidates: Array<string | undefined>): string {
  for (const candidate of candidates) {
    const normalized = candidate === undefined ? '' : normalizeText(candidate);
    if (normalized !== '') return normalized;
  }
  return 'untitled';
}

function firstHeading(text: string): string | undefined {
  return /^#{1,6} (.+)$/m.exec(text)?.[1];
}

const BLOCK_TAGS = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'header',
  'footer',
  'aside',
  'nav',
  'blockquote',
  'table',
  'tr',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'figure',
  'figcaption',
  'form',
  'hr',
  'body',
  'html',
]);
const SKIPPED_TAGS = new Set(['script', 'style', 'noscript', 'template', 'svg']);
const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00A0',
  copy: '\u00A9',
  reg: '\u00AE',
  mdash: '\u2014',
  ndash: '\u2013',
  hellip: '\u2026',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201C',
  rdquo: '\u201D',
  trade: '\u2122',
  euro: '\u20AC',
  times: '\u00D7',
  middot: '\u00B7',
  bull: '\u2022',
};

/**
 * A single left-to-right pass over the markup (linear, whatever the input): headings become `#` lines,
 * `<pre>` becomes a fenced block with its line breaks, list items `- ` lines, block elements paragraph
 * breaks; scripts, styles and comments are dropped and entities decoded. Not a validating parser: it
 * reads what documentation pages contain, and never executes or fetches anything.
 */
export function htmlToText(html: string): IngestibleText {
  const out: string[] = [];
  let title = '';
  let inTitle = false;
  let preDepth = 0;
  const emitText = (raw: string) => {
    if (raw === '') return;
    const decoded = decodeEntities(raw);
    if (inTitle) title += decoded;
    else if (preDepth > 0) out.push(decoded);
    else out.push(decoded.replace(/\s+/g, ' '));
  };
  // Every search moves forward, and the next '>' is found once for all the '<' before it: linear.
  let cursor = 0;
  let nextClose = -1;
  while (cursor < html.length) {
    const open = html.indexOf('<', cursor);
    if (open === -1) break;
    if (html.startsWith('<!--', open)) {
      emitText(html.slice(cursor, open));
      const end = html.indexOf('-->', open + 4);
      cursor = end === -1 ? html.length : end + 3;
      continue;
    }
    if (nextClose < open) nextClose = html.indexOf('>', open);
    if (nextClose === -1) break;
    const tag = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)/.exec(html.slice(open, Math.min(nextClose, open + 40)));
    if (tag === null) {
      // A doctype or processing instruction is dropped; a lone '<' is text.
      const dropped = html[open + 1] === '!' || html[open + 1] === '?';
      emitText(html.slice(cursor, dropped ? open : open + 1));
      cursor = dropped ? nextClose + 1 : open + 1;
      continue;
    }
    emitText(html.slice(cursor, open));
    cursor = nextClose + 1;
    const closing = tag[1] === '/';
    const name = (tag[2] as string).toLowerCase();
    if (SKIPPED_TAGS.has(name) && !closing) {
      if (html[nextClose - 1] === '/') continue;
      const closer = new RegExp(`</${name}`, 'gi');
      closer.lastIndex = cursor;
      const end = closer.exec(html)?.index;
      if (end === undefined) {
        cursor = html.length;
        break;
      }
      const endClose = html.indexOf('>', end);
      cursor = endClose === -1 ? html.length : endClose + 1;
      continue;
    }
    if (name === 'title') inTitle = !closing;
    else if (/^h[1-6]$/.test(name)) out.push(closing ? '\n\n' : `\n\n${'#'.repeat(Number(name[1]))} `);
    else if (name === 'pre') {
      preDepth = Math.max(0, preDepth + (closing ? -1 : 1));
      out.push(closing ? '\n```\n\n' : '\n\n```\n');
    } else if (name === 'br') out.push('\n');
    else if (name === 'li') out.push(closing ? '' : '\n- ');
    else if (name === 'td' || name === 'th') out.push(closing ? ' ' : ' | ');
    else if (BLOCK_TAGS.has(name)) out.push('\n\n');
  }
  emitText(html.slice(cursor));
  // Headings are one line: breaks inside a heading element would cut it from its `#`.
  const text = normalizeText(out.join('').replace(/^(#{1,6} )\s*([^\n]*)/gm, '$1$2'));
  return { title: normalizeText(title), text };
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});/gi, (entity, body: string) => {
    if (body.startsWith('#')) {
      const code =
        body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}
