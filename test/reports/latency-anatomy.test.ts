/**
 * The latency anatomy's pure parts: timings read from a committed history (a request that was throttled
 * twice and fell back), and percentiles per step built from them and the audit trail's measurements.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { buildLatencyAnatomy, formatLatencyAnatomy, percentile } from '../../client/latency-anatomy';
import { readStepTimings, type HistoryTiming } from '../../history/read-step-timings';
import type { RecordedStepTiming } from '../../store/step-timing-repository';

function committedHistory(name: string) {
  const json: unknown = JSON.parse(readFileSync(path.resolve(__dirname, '../histories', name), 'utf8'));
  return historyFromJSON(json).events ?? [];
}

describe('readStepTimings', () => {
  // Recorded while retrieve was a regular activity (decision 0030): every kind of timing.
  const timings = readStepTimings(committedHistory('before-local-retrieve/retried-then-fell-back.json'));

  it('times each activity from its scheduled, started and closing events', () => {
    const infer = timings.filter((timing) => timing.kind === 'activity' && timing.step === 'infer');
    // Four attempts: three failed (throttled), the fallback completed; failed ones are timed too.
    expect(infer).toHaveLength(4);
    expect(infer[3]!.workMs).toBeCloseTo(13.83, 1);
    // Events 18 → 19 → 20 of the committed history: 5.26 ms queued, 61.5 ms working.
    expect(infer[0]!.queueMs).toBeCloseTo(5.26, 1);
    expect(infer[0]!.workMs).toBeCloseTo(61.52, 1);
    expect(infer[0]!.offsetMs).toBeCloseTo(314.34, 1);
    const retrieve = timings.find((timing) => timing.step === 'retrieve')!;
    expect(retrieve).toEqual(expect.objectContaining({ kind: 'activity' }));
    expect(retrieve.queueMs).toBeCloseTo(0.029, 2);
    expect(retrieve.workMs).toBeCloseTo(14.22, 1);
    expect(timings.filter((timing) => timing.step === 'record')).toHaveLength(1);
  });

  it('names local activities by their marker, without a duration the history does not hold', () => {
    const local = timings.filter((timing) => timing.kind === 'local-activity').map((timing) => timing.step);
    expect(local).toEqual([
      'authorize',
      'plan-retrieval',
      'assemble-prompt',
      'select-route',
      'reserve-budget',
      'reserve-budget',
      'reserve-budget',
      'reserve-budget',
      'validate',
    ]);
    expect(
      timings.filter((timing) => timing.kind === 'local-activity').every((t) => t.workMs === undefined),
    ).toBe(true);
  });

  it('times workflow tasks and the whole run', () => {
    const tasks = timings.filter((timing) => timing.kind === 'workflow-task');
    expect(tasks.length).toBeGreaterThanOrEqual(7);
    // Events 2 → 3 → 4: 3.1 ms waiting for a worker, 144 ms in the task (local activities run inside it).
    expect(tasks[0]!.queueMs).toBeCloseTo(3.11, 1);
    expect(tasks[0]!.workMs).toBeCloseTo(143.94, 1);
    const request = timings.filter((timing) => timing.kind === 'request');
    expect(request).toHaveLength(1);
    expect(request[0]!.workMs).toBeGreaterThan(800);
  });
});

describe('buildLatencyAnatomy', () => {
  const recorded = (step: RecordedStepTiming['step'], values: number[]): RecordedStepTiming[] =>
    values.map((elapsedMs, index) => ({
      workflowId: `gatehouse/demo/r${index}`,
      runId: 'run',
      step,
      attempt: 0,
      status: 'succeeded',
      elapsedMs,
    }));

  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)]).toEqual([50, 95, 99]);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([], 50)).toThrow(/no samples/);
  });

  it('takes activities from history and local activities from the audit trail', () => {
    const history: HistoryTiming[] = [
      { kind: 'activity', step: 'infer', queueMs: 2, workMs: 40, offsetMs: 100 },
      { kind: 'activity', step: 'infer', queueMs: 4, workMs: 60, offsetMs: 120 },
      { kind: 'local-activity', step: 'authorize' },
      { kind: 'workflow-task', queueMs: 1, workMs: 10 },
      { kind: 'request', workMs: 200 },
    ];
    const anatomy = buildLatencyAnatomy({
      recorded: [...recorded('authorize', [3, 5, 4]), ...recorded('infer', [999])],
      history: { timings: history, runsRead: 3 },
    });
    expect(anatomy.runs).toBe(3);
    expect(anatomy.historiesRead).toBe(3);
    expect(anatomy.rows).toEqual([
      {
        name: 'authorize',
        kind: 'local activity',
        count: 3,
        queueMs: null,
        workMs: { p50: 4, p95: 5, p99: 5 },
        offsetMs: null,
      },
      {
        name: 'infer',
        kind: 'activity',
        count: 2,
        queueMs: { p50: 2, p95: 4, p99: 4 },
        workMs: { p50: 40, p95: 60, p99: 60 },
        offsetMs: 100,
      },
      {
        name: 'workflow tasks',
        kind: 'workflow task',
        count: 1,
        queueMs: { p50: 1, p95: 1, p99: 1 },
        workMs: { p50: 10, p95: 10, p99: 10 },
        offsetMs: null,
      },
      {
        name: 'request',
        kind: 'request',
        count: 1,
        queueMs: null,
        workMs: { p50: 200, p95: 200, p99: 200 },
        offsetMs: 0,
      },
    ]);
    const table = formatLatencyAnatomy(
      anatomy,
      { since: '2026-12-02T00:00:00.000Z', tenants: ['demo'] },
      'table',
    );
    expect(table).toMatch(/^infer\s+activity\s+2\s+2\.0\s+4\.0\s+4\.0\s+40\.0\s+60\.0\s+60\.0$/m);
    expect(table).toMatch(/^authorize\s+local activity\s+3\s+—\s+—\s+—\s+4\.0\s+5\.0\s+5\.0$/m);
    const csv = formatLatencyAnatomy(anatomy, { since: 'x', tenants: ['demo'] }, 'csv')
      .trim()
      .split('\n');
    expect(csv[0]).toBe(
      'step,kind,count,queue_p50_ms,queue_p95_ms,queue_p99_ms,work_p50_ms,work_p95_ms,work_p99_ms',
    );
    expect(csv).toContain('authorize,local activity,3,,,,4.0,5.0,5.0');
  });

  it('without histories, reports every step as its activity measured it, with no queueing', () => {
    const anatomy = buildLatencyAnatomy({ recorded: recorded('infer', [10, 30, 20]) });
    expect(anatomy.historiesRead).toBe(0);
    expect(anatomy.rows).toEqual([
      {
        name: 'infer',
        kind: 'step',
        count: 3,
        queueMs: null,
        workMs: { p50: 20, p95: 30, p99: 30 },
        offsetMs: null,
      },
    ]);
    expect(formatLatencyAnatomy(anatomy, { since: 'x', tenants: ['demo'] }, 'table')).toMatch(/no queueing/);
  });
});
