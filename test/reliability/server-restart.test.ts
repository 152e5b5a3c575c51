import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { startDevServer, type DevServerHandle } from '../../devtools/dev-server';
import { ensureTemporalCli } from '../../devtools/temporal-cli';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { GATEHOUSE_SEARCH_ATTRIBUTES } from '../../worker/search-attributes';
import { compareLedger, startFleet, type Fleet } from './fleet';
import { eventually, report, runsOf, scaled } from './processes';

const REQUESTS = scaled(24, 120);
const MODEL_LATENCY_MS = 1_000;
const DOWN_MS = 3_000;

describe('the Temporal server SIGKILLed and restarted under load', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-restart-'));
  const projectRoot = path.resolve(__dirname, '..', '..');
  let cliPath: string;
  let server: DevServerHandle;
  let fleet: Fleet;

  const start = (port?: number) =>
    startDevServer({
      cliPath,
      dbFile: path.join(dir, 'temporal.sqlite'),
      headless: true,
      port,
      searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
      logFile: path.join(dir, 'temporal.log'),
    });

  beforeAll(async () => {
    cliPath = await ensureTemporalCli({ projectRoot, explicitPath: process.env.TEMPORAL_CLI_PATH });
    server = await start();
    fleet = await startFleet({ address: server.address, latencyMs: MODEL_LATENCY_MS });
  });
  afterAll(async () => {
    await fleet?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes every request after the restart, none lost, none run twice', async () => {
    await fleet.startWorker('worker');
    const submitted = await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        fleet.gatehouse.submit(
          fleet.input({ requestId: `restart-${index}`, question: `What is the refund policy? (${index})` }),
        ),
      ),
    );
    // Kill it while some requests are done, some are waiting on the model and some have not started.
    await eventually('a quarter of the requests to reach the model', async () =>
      fleet.emulator.callCount() >= REQUESTS / 4 ? true : undefined,
    );
    const killedAt = Date.now();
    const callsBeforeKill = fleet.emulator.callCount();
    process.kill(server.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    server = await start(server.port);
    const restartedAfterMs = Date.now() - killedAt;
    await fleet.reconnect();

    const results = await Promise.all(
      submitted.map(({ workflowId }) =>
        fleet.gatehouse.result(workflowId, { tenantId: 'demo', apiKey: fleet.apiKey }),
      ),
    );
    const allDoneAfterMs = Date.now() - killedAt;
    expect(results.map((result) => result.workflowId)).toEqual(submitted.map(({ workflowId }) => workflowId));
    for (const { workflowId } of submitted)
      expect({ workflowId, runs: await runsOf(fleet.client, workflowId) }).toEqual({ workflowId, runs: 1 });

    const events = await listAuditEvents(fleet.db, { tenantId: 'demo' });
    const closings = events.filter((event) => event.eventType === AUDIT_EVENT_TYPES.requestSucceeded);
    expect(new Set(closings.map((event) => event.workflowId)).size).toBe(REQUESTS);
    expect(closings).toHaveLength(REQUESTS);
    const ledger = await compareLedger(fleet);
    expect(ledger.chargedRows).toBe(ledger.billedCalls);
    expect(ledger.ledgerTokens).toBe(ledger.billedTokens);
    const verification = await verifyAuditChain(fleet.db, 'demo', {
      chainKeyById: fleet.auditKeys.chainKeyById,
    });
    expect(verification.ok).toBe(true);

    report('dev server SIGKILL and restart', {
      requests: REQUESTS,
      'model calls before the kill': callsBeforeKill,
      'server back after (ms)': restartedAfterMs,
      'all done after kill (ms)': allDoneAfterMs,
      'provider calls': fleet.emulator.callCount(),
      'billed calls': ledger.billedCalls,
      'ledger rows charged': ledger.chargedRows,
      'closing audit events': closings.length,
      'chain verifies': verification.ok,
    });
  });
});
