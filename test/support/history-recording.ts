import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createPayloadKeyring, type PayloadKeyring } from '../../codec/payload-keyring';

export const HISTORY_DIR = path.resolve(__dirname, '..', 'histories');

/**
 * With GATEHOUSE_RECORD_HISTORIES=1 the scenario tests save their workflow histories under
 * test/histories/, to be committed and replayed by test/replay. Otherwise this does nothing.
 */
export async function saveHistoryIfRecording(handle: WorkflowHandle, name: string): Promise<void> {
  if (!recordingHistories()) return;
  const history = await handle.fetchHistory();
  // The replayer takes a history's run id from its start event's originalExecutionRunId, which a Reset
  // copies from the base run; a worker replaying the live run gets the real run id from Temporal. The
  // workflow compares run ids (to see that a Reset copied another run's record), so a reset run's fixture
  // names its own run there, as the live worker sees it.
  const reset = history.events?.find((event) => event.workflowTaskFailedEventAttributes?.newRunId)
    ?.workflowTaskFailedEventAttributes?.newRunId;
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (reset && started) started.originalExecutionRunId = reset;
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(path.join(HISTORY_DIR, `${name}.json`), `${historyToJSON(history)}\n`);
}

/** Whether this test run records histories for test/histories/. */
export function recordingHistories(): boolean {
  return process.env.GATEHOUSE_RECORD_HISTORIES === '1';
}

/**
 * The payload key the committed histories are encrypted with, so the replay test can read them. It is
 * a published test fixture, derived from a fixed label — never a key for real data.
 */
export function replayFixtureKeyring(): PayloadKeyring {
  const material = createHash('sha256').update('gatehouse replay fixture key, not a secret').digest();
  return createPayloadKeyring([{ id: 'replay-fixture', material }], 'replay-fixture');
}
