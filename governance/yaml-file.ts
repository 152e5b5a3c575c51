import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';

/**
 * Reads a YAML (or JSON) file: its document, line positions and value, or problems that say line and
 * column. A file whose aliases would expand past the parser's limit (a "billion laughs" file) is a
 * problem too, not an exception. A key written twice in one mapping is a problem naming the key and
 * both its lines.
 */
export function readYamlFile(
  text: string,
  fileName: string,
): { ok: true; document: Document; lines: LineCounter; value: unknown } | { ok: false; problems: string[] } {
  const lines = new LineCounter();
  // The parser's own unique-key check compares each key with every earlier one (quadratic in a
  // mapping's size: minutes for 50,000 keys); `duplicateKeyProblems` does the same check in one pass.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
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
  const duplicates = duplicateKeyProblems(document, lines, fileName);
  if (duplicates.length > 0) return { ok: false, problems: duplicates };
  try {
    return { ok: true, document, lines, value: document.toJS() };
  } catch (error) {
    return { ok: false, problems: [`${fileName}: not valid YAML or JSON: ${(error as Error).message}`] };
  }
}

/**
 * Scalar keys that appear twice in one mapping, each at its second place. Keys are compared as the
 * file's value names them (`1` and `"1"` are one property, so one silently replacing the other is a
 * duplicate too). Other keys (a mapping or list used as a key) are equal only to themselves.
 */
function duplicateKeyProblems(document: Document, lines: LineCounter, fileName: string): string[] {
  const problems: string[] = [];
  visit(document, {
    Map(_, map) {
      const firstAt = new Map<string, number | undefined>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        const name = String(key.value);
        const line = key.range ? lines.linePos(key.range[0]).line : undefined;
        if (!firstAt.has(name)) {
          firstAt.set(name, line);
          continue;
        }
        const first = firstAt.get(name);
        problems.push(
          `${fileName}${line === undefined ? '' : `:${line}`}: duplicate key "${name}"` +
            `${first === undefined ? '' : ` (first at line ${first})`}: a key may appear once per mapping`,
        );
      }
    },
  });
  return problems;
}
