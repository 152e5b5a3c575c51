/**
 * The HTML report with hostile names in its data (tenant, feature, route, prompt version): the page keeps
 * them as text — in its tables and in the charts' JSON — and its policy still forbids loading anything.
 */
import { buildReportCharts, type ReportData } from '../../client/report-charts';
import { renderHtmlReport } from '../../client/render-html-report';

const HOSTILE = [
  '</script><script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  `"'><svg onload=alert(3)>`,
  '\u2028line\u2029separators',
];

function reportData(): ReportData {
  const day = '2026-12-01';
  return {
    generatedAt: `${day}T12:00:00.000Z`,
    since: `${day}T00:00:00.000Z`,
    tenants: [HOSTILE[0]!],
    latency: { runs: 0, historiesRead: 0, rows: [] },
    cost: HOSTILE.map((name, index) => ({ day, tenantId: name, feature: name, costMicroUsd: index + 1 })),
    requests: [{ day, workflowId: HOSTILE[0]!, attempts: 2, routes: 2, failedAttempts: 1 }],
    cache: HOSTILE.map((name) => ({ day, routeId: name, cacheReadTokens: 10, cacheWriteTokens: 1 })),
    feedback: HOSTILE.map((name, index) => ({
      id: `fb-${index}`,
      tenantId: name,
      workflowId: name,
      requestId: name,
      principalId: name,
      score: 1,
      comment: name,
      routeId: name,
      promptRef: name,
      retrievedDocumentIds: [name],
      createdAt: `${day}T01:00:00.000Z`,
    })),
    cachePrices: Object.fromEntries(HOSTILE.map((name) => [name, { input: 3, cacheRead: 0.3 }])),
  };
}

const LIBRARY = { name: 'Chart.js', version: '0.0.0', licence: 'MIT', source: '/* chart */' };

describe('the HTML report with hostile names', () => {
  const charts = buildReportCharts(reportData());
  const html = renderHtmlReport({ title: HOSTILE[0]!, subtitle: HOSTILE[1]! }, charts, LIBRARY);

  it('keeps every name as text: no element, attribute or script comes out of the data', () => {
    expect(html.match(/<script/gi)).toHaveLength(3);
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(html).not.toMatch(/<img|<svg/i);
    // The names reach the tables, escaped.
    expect(html).toContain('&#60;img src=x onerror=alert(2)&#62;');
  });

  it('embeds the charts as JSON that reads back exactly', () => {
    const json = /<script type="application\/json" id="gatehouse-charts">([^]*?)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(json!)).toEqual(JSON.parse(JSON.stringify(charts)));
    expect(json).toContain(HOSTILE[0]!.replace(/</g, '\\u003c'));
    expect(json).not.toMatch(/[<\u2028\u2029]/);
  });

  it('forbids loading anything: only inline scripts and styles, images from data: URLs', () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    );
  });

  it('draws an empty window without failing', () => {
    const empty = { ...reportData(), cost: [], requests: [], cache: [], feedback: [], tenants: ['demo'] };
    expect(() =>
      renderHtmlReport({ title: 't', subtitle: 's' }, buildReportCharts(empty), LIBRARY),
    ).not.toThrow();
  });
});
