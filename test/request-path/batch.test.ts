import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledFailure, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { batchProgress, batchResult, readBatchFile, submitBatch } from '../../client/batch-client';
import { registerBatchCommands } from '../../client/batch-commands';
import { EXIT_CODES } from '../../client/cli-context';
import { RequestInvalidError } from '../../client/errors';
import type { BatchProgress, BatchResult } from '../../domain/batch-contract';
import { microToUsd, usdToMicro } from '../../domain/cost';
import type { LlmRequestInput } from '../../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../../domain/search-attribute-keys';
import { createExtractiveProvider } from '../../providers/extractive-provider';
import type { ModelProvider } from '../../providers/model-provider';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { getBudget } from '../../store/budget-repository';
import { listUsage } from '../../store/usage-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const QUESTIONS = [
  'What is the refund policy?',
  'How long does shipping take?',
  'What does the warranty cover?',
  'How much does the Team plan cost?',
];
const PROVIDER_LATENCY_MS = 20;

/** The real extractive provider, slowed down a little so that overlapping calls can be counted. */
function createCountingProvider(inner: ModelProvider) {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const provider: ModelProvider = {
    name: inner.name,
    async generate(request, options) {
      stats.calls++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await sleep(PROVIDER_LATENCY_MS);
        return await inner.generate(request, options);
      } finally {
        stats.inFlight--;
      }
    },
  };
  return {
    provider,
    stats,
    reset() {
      Object.assign(stats, { calls: 0, inFlight: 0, maxInFlight: 0 });
    },
  };
}

describe('batches of requests as child workflows', () => {
  let harness: GatehouseHarness;
  const counting = createCountingProvider(createExtractiveProvider(createLocalTokenCounter()));
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-batch-'));
  const run = Date.now().toString(36);

  beforeAll(async () => {
    harness = await startHarness({ providers: { extractive: counting.provider } });
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(tempDir, { recursive: true, force: true });
  });

  const questionInputs = (
    count: number,
    apiKey: string,
    vary: (index: number) => Partial<LlmRequestInput> = () => ({}),
  ): LlmRequestInput[] =>
    Array.from({ length: count }, (_, index) => ({
      tenantId: 'demo',
      apiKey,
      taskType: 'qa',
      question: QUESTIONS[index % QUESTIONS.length]!,
      ...vary(index),
    }));

  /** The ledger's total for the batch's requests, failed attempts included. */
  async function ledgerMicroUsd(result: BatchResult): Promise<number> {
    const workflowIds = new Set(result.items.map((item) => item.workflowId));
    const rows = await listUsage(harness.db, { tenantId: 'demo' });
    return rows
      .filter((row) => workflowIds.has(row.workflowId))
      .reduce((total, row) => total + row.costMicroUsd, 0);
  }

  it('runs 200 requests never more than 8 at a time, accounts for each, and rolls up their cost exactly', async () => {
    counting.reset();
    const batchId = `two-hundred-${run}`;
    const started = Date.now();
    const submitted = await submitBatch(harness.client, {
      taskQueue: harness.taskQueue,
      batchId,
      concurrency: 8,
      inputs: questionInputs(200, harness.apiKey),
    });
    expect(submitted.workflowId).toBe(`gatehouse-batch/demo/${batchId}`);

    let midRun: BatchProgress | undefined;
    while (!midRun) {
      const progress = await batchProgress(harness.client, submitted.workflowId).catch(() => undefined);
      if (progress && progress.completed > 0 && progress.completed < progress.total) midRun = progress;
      else if (progress?.completed === progress?.total) break;
      else await sleep(50);
    }
    expect(midRun).toBeDefined();
    expect(midRun!.total).toBe(200);
    expect(midRun!.running).toBeLessThanOrEqual(8);
    expect(midRun!.started).toBeGreaterThanOrEqual(midRun!.completed + midRun!.running);

    const result = await batchResult(harness.client, submitted.workflowId);
    const elapsedMs = Date.now() - started;
    console.log(
      `batch of 200 at concurrency 8: ${elapsedMs} ms; max in-flight generate calls ${counting.stats.maxInFlight}`,
    );

    expect(result).toEqual(
      expect.objectContaining({
        batchId,
        tenantId: 'demo',
        total: 200,
        succeeded: 200,
        failed: 0,
        duplicates: 0,
      }),
    );
    expect(result.items.map((item) => item.requestId)).toEqual(
      Array.from({ length: 200 }, (_, index) => `${batchId}-${index + 1}`),
    );
    for (const item of result.items) {
      expect(item).toEqual(
        expect.objectContaining({
          outcome: 'succeeded',
          routeId: 'extractive',
          workflowId: `gatehouse/demo/${item.requestId}`,
        }),
      );
      expect(item.costUsd).toBeGreaterThan(0);
    }
    expect(counting.stats.calls).toBe(200);
    expect(counting.stats.maxInFlight).toBeLessThanOrEqual(8);
    expect(counting.stats.maxInFlight).toBeGreaterThan(1);
    expect(result.maxRunning).toBeLessThanOrEqual(8);
    expect(result.maxRunning).toBeGreaterThan(1);

    const itemsMicroUsd = result.items.reduce((total, item) => total + usdToMicro(item.costUsd), 0);
    expect(result.costMicroUsd).toBe(itemsMicroUsd);
    expect(result.costUsd).toBe(microToUsd(result.costMicroUsd));
    expect(await ledgerMicroUsd(result)).toBe(result.costMicroUsd);

    const finalProgress = await batchProgress(harness.client, submitted.workflowId);
    expect(finalProgress).toEqual(
      expect.objectContaining({
        completed: 200,
        started: 200,
        running: 0,
        succeeded: 200,
        maxRunning: result.maxRunning,
      }),
    );

    const batchAttributes = (await submitted.handle.describe()).typedSearchAttributes;
    expect(batchAttributes.get(SEARCH_ATTRIBUTE_KEYS.tenantId)).toBe('demo');
    expect(batchAttributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('succeeded');
    const child = await harness.client.workflow.getHandle(result.items[0]!.workflowId).describe();
    expect(child.parentExecution?.workflowId).toBe(submitted.workflowId);
    expect(child.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.taskType)).toBe('qa');
    expect(child.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('succeeded');
  });

  it('reports requests denied at authorize as failed items while the others succeed', async () => {
    // The contractor may only run 'qa' on public data: every third request asks for 'summarize'.
    const inputs = questionInputs(12, harness.contractorApiKey, (index) => ({
      dataClass: 'public',
      taskType: index % 3 === 2 ? 'summarize' : 'qa',
    }));
    const submitted = await submitBatch(harness.client, {
      taskQueue: harness.taskQueue,
      batchId: `partial-${run}`,
      concurrency: 4,
      inputs,
    });
    const result = await batchResult(harness.client, submitted.workflowId);

    expect(result).toEqual(expect.objectContaining({ total: 12, succeeded: 8, failed: 4, duplicates: 0 }));
    result.items.forEach((item, index) => {
      if (index % 3 === 2) {
        expect(item).toEqual(
          expect.objectContaining({ outcome: 'failed', failureType: 'Policy.Denied', costUsd: 0 }),
        );
        expect(item.message).toBeTruthy();
      } else {
        expect(item).toEqual(expect.objectContaining({ outcome: 'succeeded', routeId: 'extractive' }));
      }
    });
    expect(await ledgerMicroUsd(result)).toBe(result.costMicroUsd);
    // The batch ran to the end with a failed request: partially failed, and each failed request says so itself.
    expect((await submitted.handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe(
      'partially-failed',
    );
    const denied = await harness.client.workflow.getHandle(result.items[2]!.workflowId).describe();
    expect(denied.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('failed');
  });

  it('joins the same batch when its id is submitted twice, and returns the finished one afterwards', async () => {
    const options = {
      taskQueue: harness.taskQueue,
      batchId: `twice-${run}`,
      concurrency: 2,
      inputs: questionInputs(6, harness.apiKey),
    };
    const first = await submitBatch(harness.client, options);
    const second = await submitBatch(harness.client, options);
    expect(second.workflowId).toBe(first.workflowId);
    expect(second.runId).toBe(first.runId);
    const result = await batchResult(harness.client, first.workflowId);
    expect(result.succeeded).toBe(6);

    const third = await submitBatch(harness.client, options);
    expect(third.workflowId).toBe(first.workflowId);
    expect(await batchResult(harness.client, third.workflowId)).toEqual(result);
    const workflowIds = new Set(result.items.map((item) => item.workflowId));
    const rows = (await listUsage(harness.db, { tenantId: 'demo' })).filter((row) =>
      workflowIds.has(row.workflowId),
    );
    expect(rows).toHaveLength(6);
  });

  it('reports a request that already succeeded as a duplicate, without running or charging it again', async () => {
    const done = await harness.gatehouse.execute({
      tenantId: 'demo',
      requestId: `done-${run}`,
      apiKey: harness.apiKey,
      taskType: 'qa',
      question: QUESTIONS[0]!,
    });
    const inputs = [
      { ...questionInputs(1, harness.apiKey)[0]!, requestId: `done-${run}` },
      ...questionInputs(1, harness.apiKey),
    ];
    const submitted = await submitBatch(harness.client, {
      taskQueue: harness.taskQueue,
      batchId: `dup-${run}`,
      inputs,
    });
    const result = await batchResult(harness.client, submitted.workflowId);

    expect(result).toEqual(expect.objectContaining({ total: 2, succeeded: 1, failed: 0, duplicates: 1 }));
    expect(result.items[0]).toEqual(
      expect.objectContaining({ outcome: 'duplicate', workflowId: done.workflowId, costUsd: 0 }),
    );
    expect(result.items[0]!.message).toMatch(/not run again/);
    expect(await listUsage(harness.db, { tenantId: 'demo', workflowId: done.workflowId })).toHaveLength(1);
  });

  it('cancels its running requests when the batch is cancelled, and closes only after they have', async () => {
    const batchId = `cancel-${run}`;
    const submitted = await submitBatch(harness.client, {
      taskQueue: harness.taskQueue,
      batchId,
      concurrency: 4,
      inputs: questionInputs(60, harness.apiKey),
    });
    for (;;) {
      const progress = await batchProgress(harness.client, submitted.workflowId).catch(() => undefined);
      if (progress && progress.completed >= 1) break;
      await sleep(20);
    }
    await submitted.handle.cancel();
    const outcome = await submitted.handle.result().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);

    const description = await submitted.handle.describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('cancelled');
    const progress = await batchProgress(harness.client, submitted.workflowId);
    expect(progress.running).toBe(0);
    expect(progress.completed).toBeLessThan(60);
    // Every request the batch started has closed, and a cancelled one recorded its failure.
    const statuses = await Promise.all(
      Array.from({ length: progress.started }, (_, index) =>
        harness.client.workflow
          .getHandle(`gatehouse/demo/${batchId}-${index + 1}`)
          .describe()
          .then(
            (child) => child.status.name,
            () => 'NOT_STARTED',
          ),
      ),
    );
    expect(statuses).not.toContain('RUNNING');
    expect((await getBudget(harness.db, 'demo'))!.reservedMicroUsd).toBe(0);
  });

  it('rejects a whole batch with one problem per bad line, before anything starts', async () => {
    const inputs: LlmRequestInput[] = [
      { tenantId: 'demo', apiKey: harness.apiKey, taskType: 'qa', question: 'fine', requestId: 'same' },
      { tenantId: 'demo', apiKey: harness.apiKey, taskType: 'qa', question: '   ' },
      { tenantId: 'demo', apiKey: harness.apiKey, taskType: 'qa', question: 'again', requestId: 'same' },
      { tenantId: 'other', apiKey: harness.apiKey, taskType: 'qa', question: 'elsewhere' },
    ];
    const batchId = `invalid-${run}`;
    const rejection = await submitBatch(harness.client, {
      taskQueue: harness.taskQueue,
      batchId,
      inputs,
    }).catch((error: unknown) => error);
    expect(rejection).toBeInstanceOf(RequestInvalidError);
    const problems = (rejection as RequestInvalidError).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^line 2: question: /),
      "line 3: requestId 'same' repeats line 1",
      expect.stringMatching(/^line 4: tenantId 'other' differs from 'demo' \(line 1\)/),
    ]);
    await expect(
      harness.client.workflow.getHandle(`gatehouse-batch/demo/${batchId}`).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('reads JSONL batch files, skipping blank lines and naming the line of bad JSON', async () => {
    const good = path.join(tempDir, 'good.jsonl');
    writeFileSync(good, `{"taskType":"qa","question":"a?"}\n\n{"taskType":"qa","question":"b?"}\n`);
    expect(await readBatchFile(good)).toEqual([
      { line: 1, input: { taskType: 'qa', question: 'a?' } },
      { line: 3, input: { taskType: 'qa', question: 'b?' } },
    ]);

    const bad = path.join(tempDir, 'bad.jsonl');
    writeFileSync(
      bad,
      `{"taskType":"qa","question":"a?"}\n\n{"taskType": "qa", "question": \n[1]\n{"apiKey":"x","question":"c?"}\n`,
    );
    const rejection = await readBatchFile(bad).catch((error: unknown) => error);
    expect(rejection).toBeInstanceOf(RequestInvalidError);
    expect((rejection as RequestInvalidError).problems).toEqual([
      expect.stringMatching(/^line 3: not valid JSON/),
      'line 4: expected a JSON object (one request per line)',
      expect.stringMatching(/^line 5: remove the apiKey/),
    ]);
    expect((rejection as Error).message).toContain('line 3');
  });

  it('`gatehouse batch submit` waits, prints the failed items and exits 6 when some failed; `batch show` summarises', async () => {
    const file = path.join(tempDir, 'cli.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ taskType: 'qa', dataClass: 'public', question: QUESTIONS[0] }),
        JSON.stringify({ taskType: 'summarize', dataClass: 'public', question: QUESTIONS[1] }),
        JSON.stringify({ taskType: 'qa', dataClass: 'public', question: QUESTIONS[2] }),
      ].join('\n'),
    );
    const settings = harness.cliSettings({ GATEHOUSE_API_KEY: harness.contractorApiKey });
    const program = new Command('gatehouse');
    registerBatchCommands(program, settings);
    const stdout: string[] = [];
    const stderr: string[] = [];
    const stdoutSpy = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
    const stderrSpy = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
    const exitCodeBefore = process.exitCode;
    let exitCode: typeof process.exitCode;
    try {
      await program.parseAsync([
        'node',
        'gatehouse',
        'batch',
        'submit',
        file,
        '--batch-id',
        `cli-${run}`,
        '--concurrency',
        '2',
      ]);
      exitCode = process.exitCode;
      await program.parseAsync([
        'node',
        'gatehouse',
        'batch',
        'show',
        `cli-${run}`,
        '--api-key',
        harness.apiKey,
      ]);
    } finally {
      stdoutSpy.mockRestore();
      stderrSpy.mockRestore();
      process.exitCode = exitCodeBefore;
    }
    expect(exitCode).toBe(EXIT_CODES.someRequestsFailed);
    const out = stdout.join('');
    expect(out).toContain(`Workflow:  gatehouse-batch/demo/cli-${run}`);
    expect(out).toContain('3 · 2 succeeded · 1 failed');
    expect(out).toContain(`gatehouse/demo/cli-${run}-2  Policy.Denied:`);
    expect(out).toContain('Status:    COMPLETED');
    expect(stderr.join('')).toMatch(/\[#{20}\] 3\/3 · 1 failed · \$\d+\.\d{6}/);
  });
});
