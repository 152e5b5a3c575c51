import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { GatehouseSettings } from '../config/environment';
import { readRunsStepTimings } from '../history/read-step-timings';
import {
  listRecordedRuns,
  listRecordedStepTimings,
  type TimingWindow,
} from '../store/step-timing-repository';
import { CliError, withTemporal } from './cli-context';
import { buildLatencyAnatomy, type LatencyAnatomy } from './latency-anatomy';

/**
 * The latency anatomy of the newest `limit` runs recorded in the window: the audit trail's step timings,
 * and (with a Temporal client) the runs' histories for queueing and work.
 */
export async function gatherLatencyAnatomy(
  db: Knex,
  client: Client | undefined,
  window: TimingWindow & { limit: number },
): Promise<LatencyAnatomy> {
  const runs = await listRecordedRuns(db, window);
  const recorded = await listRecordedStepTimings(db, {
    tenantIds: window.tenantIds,
    runIds: runs.map((run) => run.runId),
  });
  const history = client ? await readRunsStepTimings(client, runs) : undefined;
  return buildLatencyAnatomy({ recorded, history });
}

/** Runs with a Temporal client when one can be reached, else without (and says so on stderr). */
export async function withTemporalIfReachable<T>(
  settings: GatehouseSettings,
  run: (client: Client | undefined) => Promise<T>,
): Promise<T> {
  let reached = false;
  try {
    return await withTemporal(settings, (client) => {
      reached = true;
      return run(client);
    });
  } catch (error) {
    if (reached || !(error instanceof CliError) || !error.message.startsWith('cannot reach Temporal'))
      throw error;
    process.stderr.write(`${error.message}\nReading the audit trail only: no queueing figures.\n`);
    return run(undefined);
  }
}
