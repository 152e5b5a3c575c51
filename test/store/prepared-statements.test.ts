import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex, reusePreparedStatements } from '../../store/knex-client';

/** A connection whose `prepare` counts compilations and returns a distinct object per compilation. */
function countingConnection() {
  const compiled: string[] = [];
  return {
    compiled,
    pragma: () => undefined,
    prepare: (source: string): unknown => {
      compiled.push(source);
      return { source, compilation: compiled.length };
    },
  };
}

describe('reusing prepared SQLite statements', () => {
  it('compiles each SQL text once and hands back the same statement', () => {
    const connection = countingConnection();
    reusePreparedStatements(connection, 4);
    const first = connection.prepare('select 1');
    expect(connection.prepare('select 1')).toBe(first);
    connection.prepare('select 2');
    expect(connection.compiled).toEqual(['select 1', 'select 2']);
  });

  it('drops the least recently used statement beyond its capacity', () => {
    const connection = countingConnection();
    reusePreparedStatements(connection, 2);
    connection.prepare('a');
    connection.prepare('b');
    connection.prepare('a'); // 'b' is now the least recently used
    connection.prepare('c');
    connection.prepare('a');
    connection.prepare('b');
    expect(connection.compiled).toEqual(['a', 'b', 'c', 'b']);
  });

  describe('through knex on a real database', () => {
    let dir: string;
    let db: Knex;
    beforeEach(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prepared-'));
      db = createKnex({ sqliteFile: path.join(dir, 'app.sqlite'), sqliteAsyncBusyWaitMs: 1_000 });
      await db.schema.createTable('t', (table) => table.integer('x'));
    });
    afterEach(async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers a repeated query with current rows, also after a schema change', async () => {
      await db('t').insert({ x: 1 });
      expect(await db('t').select('*')).toEqual([{ x: 1 }]);
      await db('t').insert({ x: 2 });
      expect(await db('t').select('*').orderBy('x')).toEqual([{ x: 1 }, { x: 2 }]);
      await db.schema.alterTable('t', (table) => table.text('y').defaultTo('new'));
      expect(await db('t').select('*').orderBy('x')).toEqual([
        { x: 1, y: 'new' },
        { x: 2, y: 'new' },
      ]);
    });

    it('keeps transactions working when BEGIN and COMMIT are reused statements', async () => {
      for (let round = 0; round < 3; round++) {
        await db.transaction(async (trx) => {
          await trx('t').insert({ x: round });
        });
      }
      await expect(
        db.transaction(async (trx) => {
          await trx('t').insert({ x: 99 });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await db('t').select('x').orderBy('x')).map((row) => row.x)).toEqual([0, 1, 2]);
    });
  });
});
