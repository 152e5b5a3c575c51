import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORY_DIR = path.resolve(__dirname, '..', 'histories');

/**
 * With GATEHOUSE_RECORD_HISTORIES=1 the scenario tests save their workflow histories under
 * test/histories/, to be committed and replayed by test/replay. Otherwise this does nothing.
 */
export async function saveHistoryIfRecording(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.GATEHOUSE_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(path.join(HISTORY_DIR, `${name}.json`), `${historyToJSON(history)}\n`);
}
