import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  parseStoredCheckpoint,
  type AuditCheckpointSink,
  type SignedAuditCheckpoint,
} from './audit-checkpoint';

/**
 * The default checkpoint sink: one JSON line per checkpoint appended to a file (by default
 * `<data dir>/audit-checkpoints.jsonl`), flushed to disk before `append` returns. Keep it where the
 * database's administrators cannot write (another volume, `chattr +a`), or ship it on.
 */
export function createFileAuditCheckpointSink(file: string): AuditCheckpointSink {
  return {
    description: `file ${file}`,
    async append(checkpoints) {
      if (checkpoints.length === 0) return;
      await mkdir(path.dirname(file), { recursive: true });
      const lines = checkpoints.map((checkpoint) => `${JSON.stringify(checkpoint)}\n`).join('');
      // One write of whole lines in append mode: concurrent writers interleave lines, never bytes of one.
      const handle = await open(file, 'a', 0o644);
      try {
        await handle.appendFile(lines, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    async read(tenantId) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], unreadable: 0 };
        throw error;
      }
      const checkpoints: SignedAuditCheckpoint[] = [];
      let unreadable = 0;
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        const checkpoint = parseStoredCheckpoint(line);
        if (checkpoint === undefined) unreadable += 1;
        else if (checkpoint.tenantId === tenantId) checkpoints.push(checkpoint);
      }
      return { checkpoints, unreadable };
    },
  };
}
