import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { createKnex } from '../../store/knex-client';

/** A worker waits for a busy SQLite file without blocking its event loop (issue: heartbeats stalled). */
describe('a worker waiting for a busy SQLite database', () => {
  let dir: string;
  let file: string;
  let db: Knex;
  let holder: Database.Database;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-busy-'));
    file = path.join(dir, 'app.sqlite');
    db = createKnex({ sqliteFile: file, sqliteAsyncBusyWaitMs: 1_000 });
    await db.schema.createTable('t', (table) => table.integer('x'));
    holder = new Database(file);
  });
  afterEach(async () => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the event loop turning while it waits, then writes once the lock is free', async () => {
    holder.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    setTimeout(() => holder.exec('COMMIT'), 300);
    const started = Date.now();
    await db('t').insert({ x: 1 });
    const waitedMs = Date.now() - started;
    clearInterval(ticker);
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    // A synchronous busy wait would leave the ticker at 0 until the insert returned.
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(await db('t').count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('gives up with SQLITE_BUSY after its wait, so the step fails and is retried', async () => {
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const error = (await db('t')
      .insert({ x: 2 })
      .catch((caught: unknown) => caught)) as { code?: string };
    expect(error.code).toBe('SQLITE_BUSY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });
});
