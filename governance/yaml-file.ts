import { LineCounter, parseDocument, type Document } from 'yaml';

/**
 * Reads a YAML (or JSON) file: its document, line positions and value, or problems that say line and
 * column. A file whose aliases would expand past the parser's limit (a "billion laughs" file) is a
 * problem too, not an exception.
 */
export function readYamlFile(
  text: string,
  fileName: string,
): { ok: true; document: Document; lines: LineCounter; value: unknown } | { ok: false; problems: string[] } {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const position = lines.linePos(error.pos[0]);
        const where = `${fileName}:${position.line}:${position.col}`;
        return `${where}: not valid YAML or JSON: ${error.message.split('\n')[0] ?? error.code}`;
      }),
    };
  }
  try {
    return { ok: true, document, lines, value: document.toJS() };
  } catch (error) {
    return { ok: false, problems: [`${fileName}: not valid YAML or JSON: ${(error as Error).message}`] };
  }
}
