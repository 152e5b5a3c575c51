import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { REQUEST_OUTCOMES, SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type { RequestProgress } from '../domain/step-contracts';
import { isStepName, STEP_NAMES, type StepName } from '../domain/step-names';
import { workflowLink, type GatehouseSettings } from '../config/environment';
import {
  asAuditor,
  asOperator,
  CliError,
  EXIT_CODES,
  auditWriter,
  resolveApiKey,
  withTemporal,
  workflowIdFor,
} from './cli-context';
import { formatProgress } from './format-result';
import { GatehouseClient } from './gatehouse-client';
import {
  actOnRunningRequest,
  OperatorActionError,
  planBulkRetry,
  retryRequest,
  runBulkRetry,
} from './operator-actions';
import { formatRequestRecord, loadRequestRecord } from './request-record';
import { quoteVisibilityValue } from './visibility-query';
import { demoTenantOption, operatorKeyOption, wholeNumberIn } from './command-options';

function stepOption(value: string): StepName {
  if (!isStepName(value)) throw new InvalidArgumentError(`expected one of ${STEP_NAMES.join(', ')}`);
  return value;
}

const positiveInteger = wholeNumberIn(1, Infinity, 'expected a positive whole number');

function operatorFailure(error: unknown): never {
  if (error instanceof OperatorActionError) throw new CliError(error.message);
  if ((error as { name?: string }).name === 'WorkflowNotFoundError') {
    throw new CliError(`no such request in Temporal: ${(error as Error).message}`, EXIT_CODES.notFound);
  }
  throw error;
}

/** `[#####.....] 12/40` */
function progressBar(done: number, total: number): string {
  const width = 20;
  const filled = total === 0 ? width : Math.floor((width * done) / total);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** `gatehouse requests …`: find, inspect, retry, cancel, terminate, approve and deny requests. */
export function registerRequestCommands(program: Command, settings: GatehouseSettings): void {
  const requests = program
    .command('requests')
    .description('find, inspect, retry, cancel and terminate requests');

  requests
    .command('list')
    .description("a tenant's recent requests, one row per request (its latest run)")
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .option('--outcome <outcome>', REQUEST_OUTCOMES.join(' | '))
    .option('--all-runs', 'one row per run: superseded runs of reset requests too')
    .option('--limit <n>', 'how many', positiveInteger, 20)
    .action(
      async (options: {
        tenant: string;
        apiKey?: string;
        outcome?: string;
        allRuns?: boolean;
        limit: number;
      }) => {
        if (
          options.outcome !== undefined &&
          !(REQUEST_OUTCOMES as readonly string[]).includes(options.outcome)
        ) {
          throw new CliError(`--outcome must be one of ${REQUEST_OUTCOMES.join(', ')}`);
        }
        const clauses = [
          "WorkflowType = 'llmRequestWorkflow'",
          `TenantId = ${quoteVisibilityValue(options.tenant)}`,
        ];
        if (options.outcome) clauses.push(`Outcome = ${quoteVisibilityValue(options.outcome)}`);
        await asOperator(settings, options, async ({ client }) => {
          const rows: string[] = [];
          const seen = new Set<string>();
          for await (const execution of client.workflow.list({ query: clauses.join(' AND ') })) {
            // Visibility lists every run; newest first, so the first row of a request is its latest run.
            if (!options.allRuns && seen.has(execution.workflowId)) continue;
            seen.add(execution.workflowId);
            const attributes = execution.typedSearchAttributes;
            const status = execution.status.name;
            const outcome = attributes.get(SEARCH_ATTRIBUTE_KEYS.outcome) ?? '-';
            // A terminated or timed-out run could not update its own Outcome: Temporal's status says more.
            const shown =
              status !== 'RUNNING' && (outcome === 'running' || outcome === 'awaiting-approval')
                ? status.toLowerCase()
                : outcome;
            const cost = attributes.get(SEARCH_ATTRIBUTE_KEYS.costUsd);
            rows.push(
              [
                execution.startTime.toISOString(),
                status.padEnd(10),
                shown.padEnd(16),
                (attributes.get(SEARCH_ATTRIBUTE_KEYS.route) ?? '-').padEnd(12),
                cost === undefined ? '-'.padEnd(10) : `$${cost.toFixed(6)}`,
                (attributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep) ?? '').padEnd(14),
                execution.workflowId,
                options.allRuns ? execution.runId : '',
              ].join('  '),
            );
            if (rows.length >= options.limit) break;
          }
          process.stdout.write(
            rows.length > 0 ? `${rows.join('\n')}\n` : `no requests match: ${clauses.join(' AND ')}\n`,
          );
        });
      },
    );

  requests
    .command('show')
    .description(
      'every run of a request with its steps, attempts, costs and operator actions (from the audit store)',
    )
    .argument('<id>', 'workflow id, or request id with --tenant')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .action(async (id: string, options: { tenant: string; apiKey?: string }) => {
      const workflowId = workflowIdFor(id, options.tenant);
      await asAuditor(settings, options, async ({ db, client }) => {
        const record = await loadRequestRecord(db, workflowId, client);
        if (record.runs.length === 0)
          throw new CliError(`request ${workflowId} was not found`, EXIT_CODES.notFound);
        process.stdout.write(`${formatRequestRecord(record)}\n`);
        process.stdout.write(`\nTemporal:  ${workflowLink(settings, workflowId)}\n`);
        const latest = record.runs[record.runs.length - 1];
        if (client && latest?.temporalStatus === 'RUNNING') {
          try {
            const progress = await client.workflow.getHandle(workflowId).query<RequestProgress>('progress');
            process.stdout.write(`${formatProgress(progress)}\n`);
          } catch (error) {
            process.stdout.write(`Steps: unavailable (${(error as Error).message}; is a worker running?)\n`);
          }
        }
      });
    });

  requests
    .command('retry')
    .description(
      'reset a failed request to the workflow task before its failed step (or --from-step); or many with --query',
    )
    .argument('[id]', 'workflow id, or request id with --tenant')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
    .option('--from-step <step>', `re-run from this step (${STEP_NAMES.join(', ')})`, stepOption)
    .option('--reason <text>', 'why; kept in the audit trail and in Temporal', 'operator retry')
    .option(
      '--query <visibility query>',
      'retry every failed request of the tenant that matches, e.g. "Route = \'openai-local\'"',
    )
    .option('--limit <n>', 'at most this many requests with --query', positiveInteger, 500)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(
      async (
        id: string | undefined,
        options: {
          tenant: string;
          apiKey?: string;
          fromStep?: StepName;
          reason: string;
          query?: string;
          limit: number;
          yes?: boolean;
        },
      ) => {
        if ((id === undefined) === (options.query === undefined))
          throw new CliError('give a request id or --query, not both');
        await asOperator(settings, options, async ({ operator, db, client }) => {
          const note = { operator, reason: options.reason };
          if (id !== undefined) {
            const result = await retryRequest(client, auditWriter(settings, db), {
              workflowId: workflowIdFor(id, options.tenant),
              step: options.fromStep,
              note,
            }).catch(operatorFailure);
            process.stdout.write(
              `Retried:   ${result.workflowId} from '${result.step}' (event ${result.eventId} of run ${result.baseRunId})\nNew run:   ${result.newRunId}\n`,
            );
            return;
          }
          const plan = await planBulkRetry(client, {
            tenantId: options.tenant,
            query: options.query ?? '',
            step: options.fromStep,
            limit: options.limit,
          });
          const total = plan.groups.reduce((count, group) => count + group.executions.length, 0);
          for (const skipped of plan.skipped)
            process.stderr.write(`skipping ${skipped.workflowId}: ${skipped.reason}\n`);
          if (total === 0) {
            process.stdout.write('no failed requests match\n');
            return;
          }
          if (!options.yes) {
            const prompt = createInterface({ input: process.stdin, output: process.stderr });
            const answer = await prompt.question(
              `Reset ${total} request(s) of tenant '${options.tenant}'? [y/N] `,
            );
            prompt.close();
            if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not confirmed; nothing was reset');
          }
          const interactive = process.stderr.isTTY === true;
          const outcome = await runBulkRetry(client, auditWriter(settings, db), {
            tenantId: options.tenant,
            plan,
            note,
            onProgress: (done, all) =>
              process.stderr.write(
                interactive ? `\r${progressBar(done, all)}` : `${progressBar(done, all)}\n`,
              ),
          });
          if (interactive) process.stderr.write('\n');
          process.stdout.write(
            `Reset ${outcome.completed} of ${total} request(s) (${outcome.failed} failed) in Temporal batch operation(s): ${outcome.jobIds.join(', ')}\n`,
          );
          if (outcome.failed > 0) process.exitCode = EXIT_CODES.error;
        });
      },
    );

  for (const action of ['cancel', 'terminate'] as const) {
    requests
      .command(action)
      .description(
        action === 'cancel'
          ? 'cancel a running request: it records the cancellation and releases its budget'
          : 'terminate a running request at once: the reconciler records it and releases its budget',
      )
      .argument('<id>', 'workflow id, or request id with --tenant')
      .addOption(demoTenantOption())
      .addOption(operatorKeyOption())
      .requiredOption('--reason <text>', 'why; kept in the audit trail')
      .action(async (id: string, options: { tenant: string; apiKey?: string; reason: string }) => {
        const workflowId = workflowIdFor(id, options.tenant);
        await asOperator(settings, options, async ({ operator, db, client }) => {
          const note = { operator, reason: options.reason };
          await actOnRunningRequest(client, auditWriter(settings, db), workflowId, action, note).catch(
            operatorFailure,
          );
          process.stdout.write(
            `${workflowId}: ${action === 'cancel' ? 'cancellation requested' : 'terminated'}\n`,
          );
        });
      });
  }

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
      .addOption(demoTenantOption())
      .option('--api-key <key>', "the approver's API key (default: GATEHOUSE_API_KEY)")
      .option('--comment <text>', 'why; kept in the audit trail')
      .action(
        async (
          id: string,
          options: { tenant: string; approver: string; apiKey?: string; comment?: string },
        ) => {
          const workflowId = workflowIdFor(id, options.tenant);
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
              process.stdout.write(
                `${workflowId}: ${outcome.decision} by ${outcome.approverId ?? 'nobody'}\n`,
              );
            } catch (error) {
              const cause = (error as { cause?: Error }).cause;
              throw new CliError(
                `the ${decision} was refused: ${cause?.message ?? (error as Error).message}`,
                EXIT_CODES.forbidden,
              );
            }
          });
        },
      );
  }
}
