import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { round, summarize, type Summary } from './statistics';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU milliseconds another process has used so far, from /proc (Linux only). */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring this process's CPU (every thread) and the dev server's; the function it returns reads
 * what each used since, and the wall time (server undefined when its /proc entry is unreadable).
 */
export function startCpuMeter(
  serverPid: number,
): () => { processMs: number; serverMs?: number; wallMs: number } {
  const processBefore = process.cpuUsage();
  const serverBefore = processCpuMs(serverPid);
  const started = performance.now();
  return () => {
    const used = process.cpuUsage(processBefore);
    const serverAfter = processCpuMs(serverPid);
    return {
      processMs: (used.user + used.system) / 1000,
      ...(serverBefore === undefined || serverAfter === undefined
        ? {}
        : { serverMs: serverAfter - serverBefore }),
      wallMs: performance.now() - started,
    };
  };
}

export interface CpuPerRequest {
  requests: number;
  errors: number;
  /** This process: the worker (main and workflow threads), the client and the in-process emulator. */
  processCpuMsPerRequest: number;
  /** The Temporal dev server, when its /proc entry is readable. */
  serverCpuMsPerRequest?: number;
  wallMsPerRequest: number;
  /** End-to-end latency of the requests in the block. */
  latency: Summary;
}

/**
 * CPU per request over a block of back-to-back requests at concurrency 1: this process's CPU (every
 * thread) and the dev server's, divided by the requests in the block.
 */
export async function measureCpuPerRequest(options: {
  requests: number;
  serverPid: number;
  send: () => Promise<boolean>;
}): Promise<CpuPerRequest> {
  const meter = startCpuMeter(options.serverPid);
  let errors = 0;
  const latencies: number[] = [];
  for (let index = 0; index < options.requests; index++) {
    const sent = performance.now();
    if (await options.send()) latencies.push(performance.now() - sent);
    else errors += 1;
  }
  const used = meter();
  const perRequest = (ms: number) => round(ms / options.requests, 1);
  return {
    requests: options.requests,
    errors,
    processCpuMsPerRequest: perRequest(used.processMs),
    serverCpuMsPerRequest: used.serverMs === undefined ? undefined : perRequest(used.serverMs),
    wallMsPerRequest: perRequest(used.wallMs),
    latency: summarize(latencies),
  };
}

/** History events of one finished workflow, counted by event type. */
export async function countHistoryEvents(
  client: Client,
  workflowId: string,
): Promise<{ total: number; byType: Record<string, number> }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byType: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const name = temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? 'UNKNOWN';
    const marker = event.markerRecordedEventAttributes?.markerName;
    const type = `${name.replace(/^EVENT_TYPE_/, '').toLowerCase()}${marker ? ` (${marker})` : ''}`;
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return { total: history.events?.length ?? 0, byType };
}

/**
 * CPU this process and the dev server use per second while no request runs (pollers, timers, the
 * server's own housekeeping): the background that every block's per-request figure includes.
 */
export async function measureIdleCpu(options: {
  serverPid: number;
  ms: number;
}): Promise<{ processCpuMsPerSecond: number; serverCpuMsPerSecond?: number }> {
  const meter = startCpuMeter(options.serverPid);
  await new Promise((resolve) => setTimeout(resolve, options.ms));
  const used = meter();
  const perSecond = (ms: number) => round(ms / (used.wallMs / 1000), 1);
  return {
    processCpuMsPerSecond: perSecond(used.processMs),
    serverCpuMsPerSecond: used.serverMs === undefined ? undefined : perSecond(used.serverMs),
  };
}
