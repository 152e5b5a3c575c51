import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../../devtools/dev-server';
import {
  ensureSearchAttributes,
  GATEHOUSE_SEARCH_ATTRIBUTES,
  listCustomSearchAttributes,
} from '../../worker/search-attributes';
import { ensureTemporalCli } from '../../devtools/temporal-cli';
import {
  getTestTemporalAddress,
  getTestTemporalConnectionOptions,
  getTestTemporalNamespace,
} from '../support/temporal-test-env';

const projectRoot = path.resolve(__dirname, '..', '..');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('Temporal CLI provisioning', () => {
  it('returns an executable temporal binary that prints its version', async () => {
    const cli = await ensureTemporalCli({ projectRoot, explicitPath: process.env.TEMPORAL_CLI_PATH });
    expect(path.isAbsolute(cli)).toBe(true);
    await expect(access(cli, fsConstants.X_OK)).resolves.toBeUndefined();
    const { stdout } = await promisify(execFile)(cli, ['--version']);
    expect(stdout).toMatch(/^temporal version \d+\.\d+\.\d+/);
  });

  it('uses an explicit path as given, and rejects one that is not the Temporal CLI', async () => {
    const cli = await ensureTemporalCli({ projectRoot });
    await expect(ensureTemporalCli({ projectRoot, explicitPath: cli })).resolves.toBe(cli);
    await expect(ensureTemporalCli({ projectRoot, explicitPath: '/bin/true' })).rejects.toThrow(
      /TEMPORAL_CLI_PATH points to \/bin\/true, but .* --version` failed/,
    );
  });

  it('rejects an explicit path that does not exist, naming TEMPORAL_CLI_PATH', async () => {
    await expect(ensureTemporalCli({ projectRoot, explicitPath: '/nonexistent/temporal' })).rejects.toThrow(
      /TEMPORAL_CLI_PATH points to \/nonexistent\/temporal/,
    );
  });
});

describe('the shared test Temporal frontend', () => {
  let connection: Connection;
  let namespace: string;

  beforeAll(async () => {
    connection = await Connection.connect(getTestTemporalConnectionOptions());
    namespace = getTestTemporalNamespace();
  });
  afterAll(async () => {
    await connection.close();
  });

  it('answers getSystemInfo', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.capabilities?.upsertMemo).toBe(true);
  });

  it('has the 8 Gatehouse search attributes with the right types', async () => {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(GATEHOUSE_SEARCH_ATTRIBUTES)).toHaveLength(8);
    const custom = await listCustomSearchAttributes(connection, namespace);
    expect(custom).toMatchObject(GATEHOUSE_SEARCH_ATTRIBUTES);
    // The raw enum, not only our mapping of it.
    expect(response.customAttributes?.CostUsd).toBe(4); // INDEXED_VALUE_TYPE_DOUBLE
    expect(response.customAttributes?.TenantId).toBe(2); // INDEXED_VALUE_TYPE_KEYWORD
  });

  it('ensureSearchAttributes adds nothing when they are already registered', async () => {
    await expect(ensureSearchAttributes(connection, namespace, GATEHOUSE_SEARCH_ATTRIBUTES)).resolves.toEqual(
      [],
    );
    await expect(ensureSearchAttributes(connection, namespace, GATEHOUSE_SEARCH_ATTRIBUTES)).resolves.toEqual(
      [],
    );
  });

  it('ensureSearchAttributes refuses an attribute registered with another type', async () => {
    await expect(ensureSearchAttributes(connection, namespace, { CostUsd: 'Keyword' })).rejects.toThrow(
      /CostUsd is Double but Keyword is expected/,
    );
  });
});

describe('a second dev server', () => {
  it('registers missing search attributes idempotently, and stop() leaves no process behind', async () => {
    const cliPath = await ensureTemporalCli({ projectRoot, explicitPath: process.env.TEMPORAL_CLI_PATH });
    const server = await startDevServer({ cliPath, headless: true, searchAttributes: {} });
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(server.address).not.toBe(getTestTemporalAddress());
      expect(isAlive(server.pid)).toBe(true);

      const connection = await Connection.connect({ address: server.address });
      try {
        const added = await ensureSearchAttributes(connection, 'default', GATEHOUSE_SEARCH_ATTRIBUTES);
        expect([...added].sort()).toEqual(Object.keys(GATEHOUSE_SEARCH_ATTRIBUTES).sort());
        expect(await listCustomSearchAttributes(connection, 'default')).toMatchObject(
          GATEHOUSE_SEARCH_ATTRIBUTES,
        );
        await expect(
          ensureSearchAttributes(connection, 'default', GATEHOUSE_SEARCH_ATTRIBUTES),
        ).resolves.toEqual([]);
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
    expect(isAlive(server.pid)).toBe(false);
    // Idempotent: a second stop resolves without signalling a pid that may have been reused.
    await expect(server.stop()).resolves.toBeUndefined();
  });
});
