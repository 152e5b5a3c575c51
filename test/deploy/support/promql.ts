/**
 * The metric names a PromQL expression reads. Enough of PromQL for dashboards: label matchers,
 * grouping clauses, ranges, strings and Grafana's `$variables` are removed, then every identifier
 * that is not a function call, keyword or number is a metric name.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
]);

export function metricNames(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, ' ')
    // Numbers and durations (`0.95`, `3600`, `offset 5m`).
    .replace(/(^|[^A-Za-z0-9_:])\d+(\.\d+)?(e[+-]?\d+)?(ms|[smhdwy])?/gi, '$1 ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\()?)/g)) {
    const name = match[0];
    if (match[1] === '(' || KEYWORDS.has(name) || /^(inf|nan)$/i.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** The metric family a histogram or summary series belongs to (`x_bucket` → `x`). */
export function metricFamily(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
