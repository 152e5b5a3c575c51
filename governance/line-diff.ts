export interface DiffLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/** Past this many LCS cells (about 2000 × 2000 lines) the changed middle is shown as replaced. */
const MAX_LCS_CELLS = 4_000_000;

/**
 * Line diff by longest common subsequence, after the common first and last lines are set aside.
 * Quadratic in the changed lines, which is fine for policy files and prompt templates (hundreds of
 * lines); past MAX_LCS_CELLS the changed middle is all removed then all added, so a 1 MB prompt cannot
 * exhaust memory. Nothing a request sends ever reaches it.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail += 1;
  const same = (lines: string[]): DiffLine[] => lines.map((text) => ({ kind: 'same', text }));
  const middleA = a.slice(head, a.length - tail);
  const middleB = b.slice(head, b.length - tail);
  const middle =
    (middleA.length + 1) * (middleB.length + 1) > MAX_LCS_CELLS
      ? [
          ...middleA.map((text): DiffLine => ({ kind: 'removed', text })),
          ...middleB.map((text): DiffLine => ({ kind: 'added', text })),
        ]
      : lcsDiff(middleA, middleB);
  return [...same(a.slice(0, head)), ...middle, ...same(a.slice(a.length - tail))];
}

function lcsDiff(a: string[], b: string[]): DiffLine[] {
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
