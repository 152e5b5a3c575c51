import { nearestRankPercentile } from '../domain/percentile';
import { STEP_NAMES, type StepName } from '../domain/step-names';
import type { HistoryTiming } from '../history/read-step-timings';
import type { RecordedStepTiming } from '../store/step-timing-repository';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export type LatencyRowKind = 'activity' | 'local activity' | 'step' | 'workflow task' | 'request';

/** One line of the latency anatomy: a step (or the workflow tasks, or the whole request). */
export interface LatencyRow {
  name: StepName | 'workflow tasks' | 'request';
  kind: LatencyRowKind;
  /** Executions measured: activity attempts for activities, step events for the rest. */
  count: number;
  /** Scheduled → started, where the history holds it; local activities and the request have none. */
  queueMs: Percentiles | null;
  /** Started → closed from the history, or the activity's own measurement from the audit trail. */
  workMs: Percentiles;
  /** Median milliseconds from the run's start to when this was scheduled (history only). */
  offsetMs: number | null;
}

export interface LatencyAnatomy {
  /** Runs whose recorded steps were counted. */
  runs: number;
  /** Runs whose Temporal history was read; 0 when Temporal was not reachable. */
  historiesRead: number;
  rows: LatencyRow[];
}

/** Nearest-rank percentile of sorted values (the value below which `p` per cent of the samples lie). */
export function percentile(sorted: readonly number[], p: number): number {
  const value = nearestRankPercentile(sorted, p);
  if (value === undefined) throw new RangeError('no samples');
  return value;
}

function roundMs(value: number): number {
  return Math.round(value * 10) / 10;
}

function percentilesOf(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((left, right) => left - right);
  return {
    p50: roundMs(percentile(sorted, 50)),
    p95: roundMs(percentile(sorted, 95)),
    p99: roundMs(percentile(sorted, 99)),
  };
}

function numbers(values: ReadonlyArray<number | undefined>): number[] {
  return values.filter((value): value is number => value !== undefined);
}

function timedRow(
  name: LatencyRow['name'],
  kind: LatencyRowKind,
  samples: readonly HistoryTiming[],
): LatencyRow | undefined {
  const work = numbers(samples.map((sample) => sample.workMs));
  if (work.length === 0) return undefined;
  const queue = numbers(samples.map((sample) => sample.queueMs));
  const offsets = numbers(samples.map((sample) => sample.offsetMs));
  return {
    name,
    kind,
    count: work.length,
    queueMs: queue.length > 0 ? percentilesOf(queue) : null,
    workMs: percentilesOf(work),
    offsetMs: offsets.length > 0 ? percentilesOf(offsets).p50 : null,
  };
}

/**
 * Percentiles per step, in the request path's order. Where histories were read, an activity's queueing
 * and work come from Temporal's timestamps; a local activity leaves no timestamps of its own, so its work
 * is what its activity measured (the audit trail's `elapsedMs`). Without histories every step is the
 * audit trail's measurement, with no queueing.
 */
export function buildLatencyAnatomy(input: {
  recorded: readonly RecordedStepTiming[];
  history?: { timings: readonly HistoryTiming[]; runsRead: number };
}): LatencyAnatomy {
  const history = input.history;
  const runs = new Set(input.recorded.map((timing) => `${timing.workflowId}\u0000${timing.runId}`));
  const local = new Set(
    (history?.timings ?? [])
      .filter((timing) => timing.kind === 'local-activity')
      .map((timing) => timing.step),
  );
  const rows: LatencyRow[] = [];
  for (const step of STEP_NAMES) {
    const activity = (history?.timings ?? []).filter(
      (timing) => timing.kind === 'activity' && timing.step === step,
    );
    const fromHistory = timedRow(step, 'activity', activity);
    if (fromHistory) {
      rows.push(fromHistory);
      continue;
    }
    const measured = input.recorded
      .filter((timing) => timing.step === step)
      .map((timing) => timing.elapsedMs);
    if (measured.length === 0) continue;
    rows.push({
      name: step,
      kind: local.has(step) ? 'local activity' : 'step',
      count: measured.length,
      queueMs: null,
      workMs: percentilesOf(measured),
      offsetMs: null,
    });
  }
  if (history) {
    const tasks = timedRow(
      'workflow tasks',
      'workflow task',
      history.timings.filter((timing) => timing.kind === 'workflow-task'),
    );
    if (tasks) rows.push({ ...tasks, offsetMs: null });
    const request = timedRow(
      'request',
      'request',
      history.timings.filter((timing) => timing.kind === 'request'),
    );
    if (request) rows.push({ ...request, offsetMs: 0 });
  }
  return { runs: runs.size, historiesRead: history?.runsRead ?? 0, rows };
}

export const LATENCY_FORMATS = ['table', 'csv', 'json'] as const;
export type LatencyFormat = (typeof LATENCY_FORMATS)[number];

const MISSING = '—';

function percentileCells(value: Percentiles | null): string[] {
  return value === null
    ? [MISSING, MISSING, MISSING]
    : [value.p50, value.p95, value.p99].map((ms) => ms.toFixed(1));
}

/** The anatomy as a table (milliseconds), CSV or JSON. */
export function formatLatencyAnatomy(
  anatomy: LatencyAnatomy,
  context: { since: string; tenants: string[] },
  format: LatencyFormat,
): string {
  if (format === 'json') {
    return `${JSON.stringify({ ...context, by: 'step', ...anatomy }, null, 2)}\n`;
  }
  if (format === 'csv') {
    const header =
      'step,kind,count,queue_p50_ms,queue_p95_ms,queue_p99_ms,work_p50_ms,work_p95_ms,work_p99_ms';
    const lines = anatomy.rows.map((row) =>
      [
        row.name,
        row.kind,
        String(row.count),
        ...percentileCells(row.queueMs).map((cell) => (cell === MISSING ? '' : cell)),
        ...percentileCells(row.workMs),
      ].join(','),
    );
    return `${[header, ...lines].join('\n')}\n`;
  }
  const header = ['step', 'kind', 'n', 'queue p50', 'p95', 'p99', 'work p50', 'p95', 'p99'];
  const body = anatomy.rows.map((row) => [
    row.name,
    row.kind,
    String(row.count),
    ...percentileCells(row.queueMs),
    ...percentileCells(row.workMs),
  ]);
  const table = [header, ...body];
  const widths = header.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  const source =
    anatomy.historiesRead > 0
      ? `queueing and work of activities from ${anatomy.historiesRead} run histor${anatomy.historiesRead === 1 ? 'y' : 'ies'}; local activities as measured by the activity`
      : 'as measured by each step’s activity (audit trail); no Temporal history read, so no queueing';
  return `${[
    `latency by step (ms) since ${context.since} · tenant${context.tenants.length > 1 ? 's' : ''} ${context.tenants.join(', ')} · ${anatomy.runs} run(s)`,
    source,
    render(header),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...body.map(render),
  ].join('\n')}\n`;
}
