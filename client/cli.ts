import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { dataClassSchema } from '../domain/data-class';
import { readSettings, workflowLink, type GatehouseSettings } from '../config/environment';
import { registerAuditCommands } from './audit-commands';
import { registerBatchCommands } from './batch-commands';
import { registerBudgetCommands } from './budget-commands';
import { registerCodecCommands } from './codec-server-command';
import { CliError, EXIT_CODES, resolveApiKey, withTemporal } from './cli-context';
import {
  GatehouseRequestError,
  RequestConflictError,
  RequestInvalidError,
  RequestNotFoundError,
} from './errors';
import { registerEvalCommands } from './eval-commands';
import { formatResult } from './format-result';
import { registerIngestCommands } from './ingest-commands';
import { registerPolicyCommands } from './policy-commands';
import { registerPromptCommands } from './prompt-commands';
import { registerKeyCommands } from './key-commands';
import { GatehouseClient } from './gatehouse-client';
import { registerReportCommands } from './report-commands';
import { registerFeedbackCommand } from './feedback-command';
import { registerRequestCommands } from './request-commands';
import { registerServeCommand } from './serve-command';
import { demoTenantOption, wholeNumberIn } from './command-options';

const positiveInteger = wholeNumberIn(1, Infinity, 'expected a positive whole number');

function parsePromptOption(value: string): { name: string; label?: string; version?: number } {
  const match = /^([a-z0-9-]+)(?:@(\d+)|:([a-z0-9-]+))?$/.exec(value);
  if (!match?.[1]) throw new InvalidArgumentError('use NAME, NAME@VERSION or NAME:LABEL');
  return { name: match[1], version: match[2] ? Number(match[2]) : undefined, label: match[3] };
}

/** Typed request errors → the CLI's exit codes (README, "Exit codes"). */
function exitCodeOf(error: GatehouseRequestError): number {
  if (error instanceof RequestConflictError) return EXIT_CODES.conflict;
  if (error instanceof RequestNotFoundError) return EXIT_CODES.notFound;
  if (error instanceof RequestInvalidError) return EXIT_CODES.error;
  return EXIT_CODES.requestFailed;
}

/** The `gatehouse` command line: ask questions, inspect and operate requests, verify the audit trail. */
export function buildCli(settings: GatehouseSettings = readSettings()): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: durable, audited LLM requests on Temporal')
    // A command's options belong to it: `report --since` and `report cost --since` do not mix.
    .enablePositionalOptions();

  program
    .command('ask')
    .description('send one request and wait for its answer')
    .argument('<question...>', 'the question')
    .addOption(demoTenantOption())
    .option('--task <type>', 'task type (capability)', 'qa')
    .option('--api-key <key>', 'API key (default: GATEHOUSE_API_KEY, or the demo key from npm start)')
    .option('--data-class <class>', 'public | internal | confidential | restricted', 'internal')
    .option('--prompt <ref>', 'prompt NAME, NAME@VERSION or NAME:LABEL', parsePromptOption)
    .option('--request-id <id>', 'idempotency key (default: a new UUID)')
    .option('--feature <name>', 'the product feature asking, for reporting')
    .option('--max-output-tokens <n>', 'cap on output tokens', positiveInteger)
    .option('--schema <file>', 'JSON schema the output must match')
    .option('--stream', 'print the answer as it is written')
    .option('--retrieval <hint>', 'auto | always | never: whether to search the documents', 'auto')
    .option('--json', 'print the whole result as JSON')
    .action(async (words: string[], options) => {
      const dataClass = dataClassSchema.safeParse(options.dataClass);
      if (!dataClass.success)
        throw new CliError(`--data-class must be one of ${dataClassSchema.options.join(', ')}`);
      if (!['auto', 'always', 'never'].includes(options.retrieval as string))
        throw new CliError('--retrieval must be one of auto, always, never');
      const outputSchema = options.schema
        ? (JSON.parse(readFileSync(options.schema, 'utf8')) as Record<string, unknown>)
        : undefined;
      const caller = {
        tenantId: options.tenant as string,
        apiKey: resolveApiKey(settings, options.tenant, options.apiKey),
      };
      await withTemporal(settings, async (client) => {
        const gatehouse = new GatehouseClient(client, { taskQueue: settings.taskQueue });
        let workflowId: string | undefined;
        try {
          const submitted = await gatehouse.submit({
            ...caller,
            requestId: options.requestId,
            taskType: options.task,
            feature: options.feature,
            dataClass: dataClass.data,
            question: words.join(' '),
            prompt: options.prompt,
            outputSchema,
            maxOutputTokens: options.maxOutputTokens,
            stream: Boolean(options.stream),
            // auto is the default: left out, so the request's fingerprint is what it was without a hint.
            retrieval: options.retrieval === 'auto' ? undefined : (options.retrieval as 'always' | 'never'),
          });
          workflowId = submitted.workflowId;
          const link = workflowLink(settings, workflowId);
          if (options.stream && !options.json) {
            for await (const piece of gatehouse.stream(workflowId, caller)) process.stdout.write(piece);
            process.stdout.write('\n\n');
          }
          const result = await gatehouse.result(workflowId, caller);
          if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          else
            process.stdout.write(`${formatResult(result, link, { omitOutput: Boolean(options.stream) })}\n`);
        } catch (error) {
          if (!(error instanceof GatehouseRequestError)) throw error;
          const kind = error instanceof RequestConflictError ? 'Request conflict' : 'Request failed';
          process.stderr.write(
            `${kind}: ${error.failureType}${error.step ? ` at ${error.step}` : ''}: ${error.message}\n`,
          );
          if (workflowId) {
            const link = workflowLink(settings, workflowId);
            process.stderr.write(`Workflow:  ${workflowId}\nTemporal:  ${link}\n`);
          }
          process.exitCode = exitCodeOf(error);
        }
      });
    });

  registerRequestCommands(program, settings);
  registerAuditCommands(program, settings);
  registerReportCommands(program, settings);
  registerBudgetCommands(program, settings);
  registerFeedbackCommand(program, settings);
  registerBatchCommands(program, settings);
  registerEvalCommands(program, settings);
  registerIngestCommands(program, settings);
  registerPolicyCommands(program, settings);
  registerPromptCommands(program, settings);
  registerKeyCommands(program, settings);
  registerCodecCommands(program, settings);
  registerServeCommand(program, settings);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`gatehouse: ${(error as Error).message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT_CODES.error;
  }
}
