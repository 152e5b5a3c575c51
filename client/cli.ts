import { readFileSync } from 'node:fs';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { dataClassSchema } from '../domain/data-class';
import { requestWorkflowId } from '../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type { RequestProgress } from '../domain/step-contracts';
import { verifyAuditChain, listAuditEvents } from '../store/audit-repository';
import { createKnex } from '../store/knex-client';
import { readDemoCredentials } from '../worker/demo-credentials';
import { readSettings, workflowUiUrl, type GatehouseSettings } from '../worker/environment';
import { loadGatehouseDataConverter } from '../worker/payload-encryption';
import { registerBatchCommands } from './batch-commands';
import { registerCodecCommands } from './codec-server-command';
import { GatehouseRequestError } from './errors';
import { formatAuditEvents, formatProgress, formatResult } from './format-result';
import { GatehouseClient } from './gatehouse-client';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('expected a positive whole number');
  return parsed;
}

function parsePromptOption(value: string): { name: string; label?: string; version?: number } {
  const match = /^([a-z0-9-]+)(?:@(\d+)|:([a-z0-9-]+))?$/.exec(value);
  if (!match?.[1]) throw new InvalidArgumentError('use NAME, NAME@VERSION or NAME:LABEL');
  return { name: match[1], version: match[2] ? Number(match[2]) : undefined, label: match[3] };
}

async function withTemporal<T>(settings: GatehouseSettings, run: (client: Client) => Promise<T>): Promise<T> {
  const address = settings.temporal.address ?? `127.0.0.1:${settings.temporal.port}`;
  const dataConverter = await loadGatehouseDataConverter(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      tls: settings.temporal.tls ? {} : undefined,
      apiKey: settings.temporal.apiKey,
      connectTimeout: '5s',
    });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${address} (${(error as Error).message}). Is \`npm start\` running, or TEMPORAL_ADDRESS set?`,
    );
  }
  try {
    return await run(new Client({ connection, namespace: settings.temporal.namespace, dataConverter }));
  } finally {
    await connection.close();
  }
}

async function withDatabase<T>(
  settings: GatehouseSettings,
  run: (db: ReturnType<typeof createKnex>) => Promise<T>,
): Promise<T> {
  const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
  try {
    return await run(db);
  } finally {
    await db.destroy();
  }
}

function uiBase(settings: GatehouseSettings): string {
  return settings.temporal.uiUrl ?? `http://localhost:${settings.temporal.uiPort}`;
}

function resolveApiKey(settings: GatehouseSettings, tenantId: string, explicit?: string): string {
  const key =
    explicit ??
    settings.apiKey ??
    (tenantId === 'demo' ? readDemoCredentials(settings.dataDir)?.apiKey : undefined);
  if (!key) {
    throw new Error(`no API key for tenant '${tenantId}': pass --api-key or set GATEHOUSE_API_KEY`);
  }
  return key;
}

/** The `gatehouse` command line: ask questions, inspect requests, verify the audit trail. */
export function buildCli(settings: GatehouseSettings = readSettings()): Command {
  const program = new Command('gatehouse').description(
    'Gatehouse: durable, audited LLM requests on Temporal',
  );

  program
    .command('ask')
    .description('send one request and wait for its answer')
    .argument('<question...>', 'the question')
    .option('-t, --tenant <id>', 'tenant id', 'demo')
    .option('--task <type>', 'task type (capability)', 'qa')
    .option('--api-key <key>', 'API key (default: GATEHOUSE_API_KEY, or the demo key from npm start)')
    .option('--data-class <class>', 'public | internal | confidential | restricted', 'internal')
    .option('--prompt <ref>', 'prompt NAME, NAME@VERSION or NAME:LABEL', parsePromptOption)
    .option('--request-id <id>', 'idempotency key (default: a new UUID)')
    .option('--feature <name>', 'the product feature asking, for reporting')
    .option('--max-output-tokens <n>', 'cap on output tokens', positiveInteger)
    .option('--schema <file>', 'JSON schema the output must match')
    .option('--stream', 'print the answer as it is written')
    .option('--json', 'print the whole result as JSON')
    .action(async (words: string[], options) => {
      const dataClass = dataClassSchema.safeParse(options.dataClass);
      if (!dataClass.success)
        throw new Error(`--data-class must be one of ${dataClassSchema.options.join(', ')}`);
      const outputSchema = options.schema
        ? (JSON.parse(readFileSync(options.schema, 'utf8')) as Record<string, unknown>)
        : undefined;
      await withTemporal(settings, async (client) => {
        const gatehouse = new GatehouseClient(client, { taskQueue: settings.taskQueue });
        const submitted = await gatehouse.submit({
          tenantId: options.tenant,
          requestId: options.requestId,
          apiKey: resolveApiKey(settings, options.tenant, options.apiKey),
          taskType: options.task,
          feature: options.feature,
          dataClass: dataClass.data,
          question: words.join(' '),
          prompt: options.prompt,
          outputSchema,
          maxOutputTokens: options.maxOutputTokens,
          stream: Boolean(options.stream),
        });
        const link = workflowUiUrl(uiBase(settings), settings.temporal.namespace, submitted.workflowId);
        try {
          if (options.stream && !options.json) {
            for await (const piece of gatehouse.stream(submitted.workflowId)) process.stdout.write(piece);
            process.stdout.write('\n\n');
          }
          const result = await gatehouse.result(submitted.workflowId);
          if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          else
            process.stdout.write(`${formatResult(result, link, { omitOutput: Boolean(options.stream) })}\n`);
        } catch (error) {
          if (error instanceof GatehouseRequestError) {
            process.stderr.write(
              `Request failed: ${error.failureType}${error.step ? ` at ${error.step}` : ''}: ${error.message}\n`,
            );
            process.stderr.write(`Workflow:  ${submitted.workflowId}\nTemporal:  ${link}\n`);
            process.exitCode = 2;
            return;
          }
          throw error;
        }
      });
    });

  const requests = program.command('requests').description('find and inspect requests');
  requests
    .command('list')
    .description('list recent requests (a Temporal visibility query)')
    .option('-t, --tenant <id>', 'tenant id')
    .option('--outcome <outcome>', 'running | succeeded | failed | parked | awaiting-approval')
    .option('--limit <n>', 'how many', positiveInteger, 20)
    .action(async (options) => {
      const clauses = ["WorkflowType = 'llmRequestWorkflow'"];
      if (options.tenant) clauses.push(`TenantId = '${String(options.tenant).replace(/'/g, '')}'`);
      if (options.outcome) clauses.push(`Outcome = '${String(options.outcome).replace(/'/g, '')}'`);
      await withTemporal(settings, async (client) => {
        const rows: string[] = [];
        for await (const execution of client.workflow.list({
          query: clauses.join(' AND '),
          pageSize: options.limit,
        })) {
          const attributes = execution.typedSearchAttributes;
          const cost = attributes.get(SEARCH_ATTRIBUTE_KEYS.costUsd);
          rows.push(
            [
              execution.startTime.toISOString(),
              execution.status.name.padEnd(10),
              (attributes.get(SEARCH_ATTRIBUTE_KEYS.outcome) ?? '-').padEnd(10),
              (attributes.get(SEARCH_ATTRIBUTE_KEYS.route) ?? '-').padEnd(12),
              cost === undefined ? '-'.padEnd(10) : `$${cost.toFixed(6)}`,
              attributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep) ?? '',
              execution.workflowId,
            ].join('  '),
          );
          if (rows.length >= options.limit) break;
        }
        process.stdout.write(
          rows.length > 0 ? `${rows.join('\n')}\n` : `no requests match: ${clauses.join(' AND ')}\n`,
        );
      });
    });

  requests
    .command('show')
    .description('steps, timings, failure and audit events of one request')
    .argument('<id>', 'workflow id, or request id with --tenant')
    .option('-t, --tenant <id>', 'tenant id (when <id> is a request id)')
    .action(async (id: string, options) => {
      const workflowId = id.startsWith('gatehouse/') ? id : requestWorkflowId(options.tenant ?? 'demo', id);
      await withTemporal(settings, async (client) => {
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        const attributes = description.typedSearchAttributes;
        process.stdout.write(
          [
            `Workflow:  ${workflowId}`,
            `Status:    ${description.status.name}`,
            `Started:   ${description.startTime.toISOString()}${description.closeTime ? ` · closed ${description.closeTime.toISOString()}` : ''}`,
            `Tenant:    ${attributes.get(SEARCH_ATTRIBUTE_KEYS.tenantId) ?? '-'} · task ${attributes.get(SEARCH_ATTRIBUTE_KEYS.taskType) ?? '-'}`,
            `Route:     ${attributes.get(SEARCH_ATTRIBUTE_KEYS.route) ?? '-'} · prompt ${attributes.get(SEARCH_ATTRIBUTE_KEYS.promptVersion) ?? '-'}`,
            `Temporal:  ${workflowUiUrl(uiBase(settings), settings.temporal.namespace, workflowId)}`,
            '',
          ].join('\n'),
        );
        try {
          process.stdout.write(`${formatProgress(await handle.query<RequestProgress>('progress'))}\n`);
        } catch (error) {
          process.stdout.write(`Steps: unavailable (${(error as Error).message}; is a worker running?)\n`);
        }
        if (description.status.name === 'FAILED') {
          try {
            await handle.result();
          } catch (error) {
            const cause = error instanceof WorkflowFailedError ? error.cause : error;
            process.stdout.write(`Failure: ${(cause as Error).message}\n`);
          }
        }
        const tenantId = attributes.get(SEARCH_ATTRIBUTE_KEYS.tenantId) ?? options.tenant ?? 'demo';
        const events = await withDatabase(settings, (db) => listAuditEvents(db, { tenantId, workflowId }));
        process.stdout.write(`${formatAuditEvents(events)}\n`);
      });
    });

  for (const decision of ['approve', 'deny'] as const) {
    requests
      .command(decision)
      .description(
        decision === 'approve'
          ? 'approve restricted work waiting for a decision'
          : 'deny restricted work waiting for a decision',
      )
      .argument('<id>', 'workflow id, or request id with --tenant')
      .requiredOption('--approver <principal>', 'your principal id (must hold an approver role)')
      .option('-t, --tenant <id>', 'tenant id', 'demo')
      .option('--api-key <key>', "the approver's API key (default: GATEHOUSE_API_KEY)")
      .option('--comment <text>', 'why; kept in the audit trail')
      .action(async (id: string, options) => {
        const workflowId = id.startsWith('gatehouse/') ? id : requestWorkflowId(options.tenant, id);
        await withTemporal(settings, async (client) => {
          const gatehouse = new GatehouseClient(client, { taskQueue: settings.taskQueue });
          const approver = {
            approverId: options.approver,
            apiKey: resolveApiKey(settings, options.tenant, options.apiKey),
            comment: options.comment,
          };
          try {
            const outcome =
              decision === 'approve'
                ? await gatehouse.approve(workflowId, approver)
                : await gatehouse.deny(workflowId, approver);
            process.stdout.write(`${workflowId}: ${outcome.decision} by ${outcome.approverId ?? 'nobody'}\n`);
          } catch (error) {
            const cause = (error as { cause?: Error }).cause;
            throw new Error(`the ${decision} was refused: ${cause?.message ?? (error as Error).message}`);
          }
        });
      });
  }

  program
    .command('audit')
    .description('the tamper-evident audit trail')
    .command('verify')
    .description("recompute a tenant's hash chain and report the first bad sequence number")
    .requiredOption('-t, --tenant <id>', 'tenant id')
    .action(async (options) => {
      const verdict = await withDatabase(settings, (db) => verifyAuditChain(db, options.tenant));
      if (verdict.ok) {
        process.stdout.write(
          `audit chain of '${options.tenant}' verifies: ${verdict.checked} event(s), head at #${verdict.headSeq}\n`,
        );
      } else {
        process.stdout.write(
          `audit chain of '${options.tenant}' is BROKEN at #${verdict.firstBadSeq}: ${verdict.reason} (${verdict.checked} event(s) checked)\n`,
        );
        process.exitCode = 1;
      }
    });

  registerBatchCommands(program, settings, { withTemporal, resolveApiKey });
  registerCodecCommands(program, settings);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`gatehouse: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
