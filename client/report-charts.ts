import type { RequestFeedback } from '../store/feedback-repository';
import type { DailyCacheTokens, DailyCost, RequestAttempts } from '../store/report-series';
import type { LatencyAnatomy } from './latency-anatomy';

/** Everything the HTML report shows, as read from the ledger, the audit trail, histories and feedback. */
export interface ReportData {
  generatedAt: string;
  since: string;
  tenants: string[];
  latency: LatencyAnatomy;
  cost: DailyCost[];
  requests: RequestAttempts[];
  cache: DailyCacheTokens[];
  feedback: RequestFeedback[];
  /** USD per million tokens for input and cache reads, per route id (the route table's prices). */
  cachePrices: Record<string, { input: number; cacheRead: number }>;
}

/** One chart of the page: a Chart.js configuration (plain JSON) and the same figures as a table. */
export interface ReportChart {
  id: string;
  title: string;
  note: string;
  config: {
    type: 'bar';
    data: { labels: string[]; datasets: ChartDataset[] };
    options: Record<string, unknown>;
  };
  table: { header: string[]; rows: string[][] };
}

interface ChartDataset {
  label: string;
  data: Array<number | [number, number]>;
  backgroundColor: string;
  stack?: string;
}

const PALETTE = ['#2563eb', '#f97316', '#16a34a', '#dc2626', '#9333ea', '#0891b2', '#ca8a04', '#db2777'];

function colour(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

function usd(micro: number): string {
  return (micro / 1_000_000).toFixed(6);
}

function days(since: string, generatedAt: string): string[] {
  const list: string[] = [];
  const end = generatedAt.slice(0, 10);
  for (let at = new Date(`${since.slice(0, 10)}T00:00:00Z`); ; at = new Date(at.getTime() + 86_400_000)) {
    const text = at.toISOString().slice(0, 10);
    list.push(text);
    if (text >= end || list.length > 400) return list;
  }
}

const BASE_OPTIONS = { animation: false, responsive: false, maintainAspectRatio: false };

/** Median queue then work per step, laid end to end in request order; the whole request beside them. */
export function latencyWaterfall(latency: LatencyAnatomy): ReportChart {
  const steps = latency.rows.filter((row) => row.name !== 'workflow tasks' && row.name !== 'request');
  const labels: string[] = [];
  const queue: Array<[number, number]> = [];
  const work: Array<[number, number]> = [];
  let at = 0;
  for (const row of steps) {
    const queued = row.queueMs?.p50 ?? 0;
    labels.push(`${row.name} (${row.kind})`);
    queue.push([at, at + queued]);
    work.push([at + queued, at + queued + row.workMs.p50]);
    at += queued + row.workMs.p50;
  }
  const request = latency.rows.find((row) => row.name === 'request');
  if (request) {
    labels.push('request, start to close');
    queue.push([0, 0]);
    work.push([0, request.workMs.p50]);
  }
  return {
    id: 'latency',
    title: 'Latency by step (median, in request order)',
    note:
      latency.historiesRead > 0
        ? `${latency.runs} run(s), ${latency.historiesRead} Temporal histories read. Queue is scheduled → started; local activities run inside a workflow task and have work only. The gap between the steps and the whole request is workflow-task dispatch.`
        : `${latency.runs} run(s). No Temporal history was read: each step as its activity measured it, without queueing.`,
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'queue (ms, p50)', data: queue, backgroundColor: '#f97316' },
          { label: 'work (ms, p50)', data: work, backgroundColor: '#2563eb' },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        indexAxis: 'y',
        // Floating bars [from, to] on one line per step: not stacked, not side by side.
        datasets: { bar: { grouped: false } },
        scales: { x: { title: { display: true, text: 'ms' } } },
      },
    },
    table: {
      header: [
        'step',
        'kind',
        'n',
        'queue p50',
        'queue p95',
        'queue p99',
        'work p50',
        'work p95',
        'work p99',
      ],
      rows: latency.rows.map((row) => [
        row.name,
        row.kind,
        String(row.count),
        ...(row.queueMs ? [row.queueMs.p50, row.queueMs.p95, row.queueMs.p99].map(String) : ['—', '—', '—']),
        ...[row.workMs.p50, row.workMs.p95, row.workMs.p99].map(String),
      ]),
    },
  };
}

/** Cost per day, one stacked series per tenant and feature. */
export function costOverTime(data: Pick<ReportData, 'cost' | 'since' | 'generatedAt'>): ReportChart {
  const labels = days(data.since, data.generatedAt);
  const seriesKey = (row: DailyCost) => `${row.tenantId} · ${row.feature ?? '(no feature)'}`;
  const keys = [...new Set(data.cost.map(seriesKey))].sort();
  const datasets = keys.map((key, index) => ({
    label: key,
    data: labels.map(
      (label) =>
        data.cost
          .filter((row) => row.day === label && seriesKey(row) === key)
          .reduce((total, row) => total + row.costMicroUsd, 0) / 1_000_000,
    ),
    backgroundColor: colour(index),
    stack: 'cost',
  }));
  const totals = new Map<string, number>();
  for (const row of data.cost)
    totals.set(seriesKey(row), (totals.get(seriesKey(row)) ?? 0) + row.costMicroUsd);
  return {
    id: 'cost',
    title: 'Cost by tenant and feature over time (USD per UTC day)',
    note: 'Every attempt the providers billed, failed ones included (the usage ledger).',
    config: {
      type: 'bar',
      data: { labels, datasets },
      options: {
        ...BASE_OPTIONS,
        scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'USD' } } },
      },
    },
    table: {
      header: ['tenant · feature', 'cost USD'],
      rows: keys.map((key) => [key, usd(totals.get(key) ?? 0)]),
    },
  };
}

/** Requests per day, and how many needed a retry on the same route or a fallback to another. */
export function retriesAndFallbacks(
  data: Pick<ReportData, 'requests' | 'since' | 'generatedAt'>,
): ReportChart {
  const labels = days(data.since, data.generatedAt);
  const count = (predicate: (row: RequestAttempts) => boolean) =>
    labels.map((label) => data.requests.filter((row) => row.day === label && predicate(row)).length);
  const retried = (row: RequestAttempts) => row.attempts > row.routes;
  const fellBack = (row: RequestAttempts) => row.routes > 1;
  const sum = (predicate: (row: RequestAttempts) => boolean) => data.requests.filter(predicate).length;
  return {
    id: 'retries',
    title: 'Retries and fallbacks (requests per UTC day)',
    note: 'A retry is a further attempt on the same route; a fallback is an attempt on another route.',
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'requests', data: count(() => true), backgroundColor: '#94a3b8' },
          { label: 'with a retry', data: count(retried), backgroundColor: '#f97316' },
          { label: 'with a fallback', data: count(fellBack), backgroundColor: '#dc2626' },
        ],
      },
      options: { ...BASE_OPTIONS, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    table: {
      header: ['requests', 'with a retry', 'with a fallback', 'failed attempts'],
      rows: [
        [
          String(data.requests.length),
          String(sum(retried)),
          String(sum(fellBack)),
          String(data.requests.reduce((total, row) => total + row.failedAttempts, 0)),
        ],
      ],
    },
  };
}

/**
 * What prompt caching saved per day: cache-read tokens priced at the route's input price minus its
 * cache-read price. A route the price table does not know is shown in tokens and left out of the savings.
 */
export function cacheSavings(
  data: Pick<ReportData, 'cache' | 'cachePrices' | 'since' | 'generatedAt'>,
): ReportChart {
  const labels = days(data.since, data.generatedAt);
  const savingOf = (row: DailyCacheTokens) => {
    const price = data.cachePrices[row.routeId];
    return price ? row.cacheReadTokens * Math.max(0, price.input - price.cacheRead) : 0;
  };
  const perDay = (value: (row: DailyCacheTokens) => number) =>
    labels.map((label) =>
      data.cache.filter((row) => row.day === label).reduce((total, row) => total + value(row), 0),
    );
  const read = data.cache.reduce((total, row) => total + row.cacheReadTokens, 0);
  const written = data.cache.reduce((total, row) => total + row.cacheWriteTokens, 0);
  const saved = Math.round(data.cache.reduce((total, row) => total + savingOf(row), 0));
  const unpriced = [
    ...new Set(
      data.cache
        .filter((row) => row.cacheReadTokens > 0 && !data.cachePrices[row.routeId])
        .map((row) => row.routeId),
    ),
  ];
  return {
    id: 'cache',
    title: 'Cache savings (USD per UTC day)',
    note:
      read + written === 0
        ? 'No cache-read or cache-write tokens are recorded in the ledger for this window, so the savings are zero.'
        : `Cache-read tokens priced at the route's input price minus its cache-read price.${unpriced.length > 0 ? ` Routes without a price here: ${unpriced.join(', ')}.` : ''}`,
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            label: 'saved (USD)',
            data: perDay(savingOf).map((micro) => micro / 1_000_000),
            backgroundColor: '#16a34a',
          },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'USD' } } },
      },
    },
    table: {
      header: ['cache-read tokens', 'cache-write tokens', 'saved USD'],
      rows: [[String(read), String(written), usd(saved)]],
    },
  };
}

/** Feedback scores next to what served the request: route, prompt version and retrieved documents. */
export function feedbackScores(data: Pick<ReportData, 'feedback'>): ReportChart {
  const groups = new Map<string, { route: string; prompt: string; retrieval: string; scores: number[] }>();
  for (const item of data.feedback) {
    const route = item.routeId ?? '(none)';
    const prompt = item.promptRef ?? '(none)';
    const retrieval =
      item.retrievedDocumentIds.length > 0 ? item.retrievedDocumentIds.join(', ') : '(no retrieval)';
    const key = JSON.stringify([route, prompt, retrieval]);
    const group = groups.get(key) ?? { route, prompt, retrieval, scores: [] };
    group.scores.push(item.score);
    groups.set(key, group);
  }
  const list = [...groups.values()].sort((left, right) =>
    `${left.route}\u0000${left.prompt}\u0000${left.retrieval}`.localeCompare(
      `${right.route}\u0000${right.prompt}\u0000${right.retrieval}`,
    ),
  );
  const mean = (scores: number[]) =>
    Math.round((scores.reduce((a, b) => a + b, 0) / scores.length) * 100) / 100;
  const tally = (score: number) =>
    list.map((group) => group.scores.filter((value) => value === score).length);
  return {
    id: 'feedback',
    title: 'Feedback by route, prompt version and retrieval',
    note:
      list.length === 0
        ? 'No feedback in this window (gatehouse feedback <request> --score -1|0|1).'
        : 'Scores from the callers: -1 bad, 0 neutral, 1 good.',
    config: {
      type: 'bar',
      data: {
        labels: list.map((group) => `${group.route} · ${group.prompt} · ${group.retrieval}`),
        datasets: [
          { label: 'good (1)', data: tally(1), backgroundColor: '#16a34a', stack: 'score' },
          { label: 'neutral (0)', data: tally(0), backgroundColor: '#94a3b8', stack: 'score' },
          { label: 'bad (-1)', data: tally(-1), backgroundColor: '#dc2626', stack: 'score' },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    },
    table: {
      header: ['route', 'prompt version', 'retrieved documents', 'feedback', 'mean score'],
      rows: list.map((group) => [
        group.route,
        group.prompt,
        group.retrieval,
        String(group.scores.length),
        String(mean(group.scores)),
      ]),
    },
  };
}

/** The page's charts, in reading order. */
export function buildReportCharts(data: ReportData): ReportChart[] {
  return [
    latencyWaterfall(data.latency),
    costOverTime(data),
    retriesAndFallbacks(data),
    cacheSavings(data),
    feedbackScores(data),
  ];
}
