import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ReportChart } from './report-charts';

/** The charting library the page carries inline: Chart.js's UMD build, its version and licence. */
export interface ChartLibrary {
  name: string;
  version: string;
  licence: string;
  source: string;
}

/** Reads Chart.js (a pinned dependency) from node_modules, to be inlined: the page loads nothing. */
export function readChartLibrary(): ChartLibrary {
  // The package's exports map hides dist/chart.umd.min.js; it sits beside the entry point.
  const dist = path.dirname(require.resolve('chart.js'));
  const manifest = JSON.parse(readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const source = readFileSync(path.join(dist, 'chart.umd.min.js'), 'utf8');
  if (/<\/script/i.test(source))
    throw new Error('the chart library contains </script> and cannot be inlined');
  return {
    name: 'Chart.js',
    version: manifest.version,
    licence: readFileSync(path.join(dist, '..', 'LICENSE.md'), 'utf8'),
    source,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function tableHtml(table: ReportChart['table']): string {
  const head = table.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('');
  const body = table.rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// Draws every chart from the embedded configurations; `data-drawn` tells a reader (or a test) it is done.
const DRAW_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('gatehouse-charts').textContent);
  charts.forEach(function (chart) {
    new Chart(document.getElementById('chart-' + chart.id), chart.config);
  });
  document.body.setAttribute('data-drawn', String(charts.length));
})();`;

/**
 * One self-contained page: the charts' data, the charting library and the drawing code are all inline,
 * and its Content-Security-Policy forbids loading anything, so viewing it makes no network request.
 */
export function renderHtmlReport(
  context: { title: string; subtitle: string },
  charts: ReportChart[],
  library: ChartLibrary,
): string {
  const sections = charts
    .map(
      (chart) => `<section id="section-${chart.id}">
<h2>${escapeHtml(chart.title)}</h2>
<p class="note">${escapeHtml(chart.note)}</p>
<canvas id="chart-${chart.id}" width="960" height="${chart.id === 'latency' ? 420 : 300}" role="img" aria-label="${escapeHtml(chart.title)}"></canvas>
${tableHtml(chart.table)}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(context.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #0f172a; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin: 28px 0 4px; }
.note, .subtitle { color: #475569; margin: 2px 0 8px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 12px; }
th, td { border: 1px solid #cbd5e1; padding: 2px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
footer { color: #64748b; font-size: 11px; margin-top: 32px; }
</style>
</head>
<body>
<h1>${escapeHtml(context.title)}</h1>
<p class="subtitle">${escapeHtml(context.subtitle)}</p>
${sections}
<footer>Charts drawn by ${escapeHtml(library.name)} ${escapeHtml(library.version)}, inlined in this page under the MIT License (below).</footer>
<script type="application/json" id="gatehouse-charts">${scriptJson(charts)}</script>
<script>
/*! ${library.name} ${library.version} — licence:
${library.licence.replace(/\*\//g, '* /')}
*/
${library.source}
</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}
