export interface DiffLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/**
 * Line diff by longest common subsequence. Quadratic in lines, which is fine for policy files and prompt
 * templates (hundreds of lines); nothing a request sends ever reaches it.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // common[i][j]: length of the LCS of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      const row = common[i] as number[];
      row[j] =
        a[i] === b[j]
          ? (common[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(common[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ kind: 'same', text: a[i] as string });
      i += 1;
      j += 1;
    } else if (i < a.length && (j >= b.length || (common[i + 1]?.[j] ?? 0) >= (common[i]?.[j + 1] ?? 0))) {
      // Removals before additions, as readers of diffs expect.
      lines.push({ kind: 'removed', text: a[i] as string });
      i += 1;
    } else {
      lines.push({ kind: 'added', text: b[j] as string });
      j += 1;
    }
  }
  return lines;
}

/**
 * `- ` removed, `+ ` added, two spaces for context; runs of unchanged lines longer than `2 × context`
 * are folded to a `@@ line N @@` marker. Empty when nothing changed.
 */
export function formatLineDiff(lines: DiffLine[], context = 3): string {
  if (lines.every((line) => line.kind === 'same')) return '';
  const near = lines.map((_, index) =>
    lines.slice(Math.max(0, index - context), index + context + 1).some((line) => line.kind !== 'same'),
  );
  const out: string[] = [];
  let beforeLine = 0;
  let folded = true;
  for (const [index, line] of lines.entries()) {
    if (line.kind !== 'added') beforeLine += 1;
    if (!near[index]) {
      folded = true;
      continue;
    }
    if (folded) out.push(`@@ line ${line.kind === 'added' ? beforeLine + 1 : beforeLine} @@`);
    folded = false;
    out.push(`${line.kind === 'same' ? ' ' : line.kind === 'removed' ? '-' : '+'} ${line.text}`);
  }
  return `${out.join('\n')}\n`;
}
