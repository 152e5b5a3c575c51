import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import {
  DEFAULT_BATCH_CONCURRENCY,
  MAX_BATCH_CONCURRENCY,
  batchWorkflowId,
  type BatchProgress,
  type BatchResult,
} from '../domain/batch-contract';
import type { LlmRequestInput } from '../domain/request-contract';
import { workflowLink, type GatehouseSettings } from '../config/environment';
import { batchProgress, batchResult, readBatchFile, submitBatch } from './batch-client';
import { authenticateOperator, EXIT_CODES, resolveApiKey, withDatabase, withTemporal } from './cli-context';
import { waitWithProgress } from './wait-with-progress';
import { demoTenantOption, operatorKeyOption, wholeNumberIn } from './command-options';

const BAR_WIDTH = 20;

const concurrencyOption = wholeNumberIn(
  1,
  MAX_BATCH_CONCURRENCY,
  `expected a whole number from 1 to ${MAX_BATCH_CONCURRENCY}`,
);

/** `[#####.....] 120/200 · 3 failed · $0.0123` */
export function formatBatchProgressBar(
  progress: Pick<BatchProgress, 'total' | 'completed' | 'failed' | 'costUsd'>,
): string {
  const filled =
    progress.total === 0 ? BAR_WIDTH : Math.floor((BAR_WIDTH * progress.completed) / progress.total);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${progress.completed}/${progress.total} · ${progress.failed} failed · $${progress.costUsd.toFixed(6)}`;
}

/** The totals, then one line per failed request so an operator can go straight to it. */
export function formatBatchSummary(result: BatchResult): string {
  const lines = [
    `Requests:  ${result.total} · ${result.succeeded} succeeded · ${result.failed} failed · ${result.duplicates} already done`,
    `Cost:      $${result.costUsd.toFixed(6)} · at most ${result.maxRunning} running at once`,
  ];
  const failed = result.items.filter((item) => item.outcome === 'failed');
  if (failed.length > 0) {
    lines.push('Failed:');
    for (const item of failed)
      lines.push(`  ${item.workflowId}  ${item.failureType ?? 'unknown'}: ${item.message ?? ''}`);
  }
  return lines.join('\n');
}

function uiLink(settings: GatehouseSettings, workflowId: string): string {
  return workflowLink(settings, workflowId);
}

/** Waits for the batch's result while drawing its progress bar on `stream`. */
function waitForBatch(client: Client, workflowId: string, stream: NodeJS.WriteStream): Promise<BatchResult> {
  return waitWithProgress({
    result: batchResult(client, workflowId),
    progressLine: async () => formatBatchProgressBar(await batchProgress(client, workflowId)),
    finalLine: (final) => formatBatchProgressBar({ ...final, completed: final.total }),
    stream,
  });
}

/** `gatehouse batch submit|show`: run a JSONL file of requests as one batch and follow it. */
export function registerBatchCommands(program: Command, settings: GatehouseSettings): void {
  const batch = program
    .command('batch')
    .description('run many requests as one batch, with bounded concurrency');

  batch
    .command('submit')
    .description(
      'run every request of a JSONL file (one request per line, no API keys) and wait for the batch',
    )
    .argument('<file>', 'JSONL file of requests')
    .option('-t, --tenant <id>', 'tenant id, for lines that give none', 'demo')
    .option(
      '--concurrency <n>',
      `requests running at once (1-${MAX_BATCH_CONCURRENCY})`,
      concurrencyOption,
      DEFAULT_BATCH_CONCURRENCY,
    )
    .option(
      '--batch-id <id>',
      'idempotency key: submitting it again joins the same batch (default: a new UUID)',
    )
    .option('--api-key <key>', 'API key (default: GATEHOUSE_API_KEY, or the demo key from npm start)')
    .option('--no-wait', 'print the batch id and return without waiting')
    .action(
      async (
        file: string,
        options: { tenant: string; concurrency: number; batchId?: string; apiKey?: string; wait: boolean },
      ) => {
        const entries = await readBatchFile(file);
        const firstTenant = entries[0]?.input.tenantId;
        const tenantId = typeof firstTenant === 'string' ? firstTenant : options.tenant;
        const apiKey = resolveApiKey(settings, tenantId, options.apiKey);
        await withTemporal(settings, async (client) => {
          const submitted = await submitBatch(client, {
            taskQueue: settings.taskQueue,
            batchId: options.batchId,
            concurrency: options.concurrency,
            // Only shaped here; submitBatch validates every field and names the line of each problem.
            inputs: entries.map(
              (entry) => ({ tenantId: options.tenant, ...entry.input, apiKey }) as LlmRequestInput,
            ),
            lineNumbers: entries.map((entry) => entry.line),
          });
          process.stdout.write(
            `Batch:     ${submitted.batchId} (${entries.length} requests)\nWorkflow:  ${submitted.workflowId}\nTemporal:  ${uiLink(settings, submitted.workflowId)}\n`,
          );
          if (!options.wait) return;
          const result = await waitForBatch(client, submitted.workflowId, process.stderr);
          process.stdout.write(`${formatBatchSummary(result)}\n`);
          if (result.failed > 0) process.exitCode = EXIT_CODES.someRequestsFailed;
        });
      },
    );

  batch
    .command('show')
    .description("a batch's progress, or its summary and failed requests once finished")
    .argument('<id>', 'batch workflow id, or batch id with --tenant')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .action(async (id: string, options: { tenant: string; apiKey?: string }) => {
      const workflowId = id.startsWith('gatehouse-batch/') ? id : batchWorkflowId(options.tenant, id);
      if (!workflowId.startsWith(batchWorkflowId(options.tenant, ''))) {
        throw new Error(`${id} is not a batch of tenant '${options.tenant}'`);
      }
      const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
      await withDatabase(settings, (db) => authenticateOperator(db, options.tenant, apiKey));
      await withTemporal(settings, async (client) => {
        const description = await client.workflow.getHandle(workflowId).describe();
        process.stdout.write(
          [
            `Workflow:  ${workflowId}`,
            `Status:    ${description.status.name}`,
            `Started:   ${description.startTime.toISOString()}${description.closeTime ? ` · closed ${description.closeTime.toISOString()}` : ''}`,
            `Temporal:  ${uiLink(settings, workflowId)}`,
            '',
          ].join('\n'),
        );
        if (description.status.name === 'COMPLETED') {
          process.stdout.write(`${formatBatchSummary(await batchResult(client, workflowId))}\n`);
          return;
        }
        try {
          process.stdout.write(`${formatBatchProgressBar(await batchProgress(client, workflowId))}\n`);
        } catch (error) {
          process.stdout.write(`Progress: unavailable (${(error as Error).message}; is a worker running?)\n`);
        }
      });
    });
}
