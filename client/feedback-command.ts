import type { Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import { CliError, EXIT_CODES, resolveApiKey, withTemporal, workflowIdFor } from './cli-context';
import { GatehouseRequestError, RequestNotFoundError } from './errors';
import { GatehouseClient } from './gatehouse-client';
import { demoTenantOption, wholeNumberIn } from './command-options';

const SCORE_HELP = '-1 (bad), 0 (neutral) or 1 (good)';
// The scale is -1..1 (FEEDBACK_SCORES), whole numbers only.
export const parseScore = wholeNumberIn(-1, 1, SCORE_HELP);

/** `gatehouse feedback <request> --score -1|0|1 [--comment …]`: the requester's verdict on an answer. */
export function registerFeedbackCommand(program: Command, settings: GatehouseSettings): void {
  program
    .command('feedback')
    .description('attach your feedback to one of your finished requests (stored, audited, in the reports)')
    .argument('<request>', 'request id, or its workflow id gatehouse/<tenant>/<request>')
    .requiredOption('--score <score>', SCORE_HELP, parseScore)
    .option('--comment <text>', 'what was right or wrong with the answer')
    .option('--feedback-id <id>', 'idempotency key (default: a new UUID)')
    .addOption(demoTenantOption())
    .option(
      '--api-key <key>',
      'the API key that made the request (default: GATEHOUSE_API_KEY, or the demo key)',
    )
    .action(
      async (
        request: string,
        options: {
          score: number;
          comment?: string;
          feedbackId?: string;
          tenant: string;
          apiKey?: string;
        },
      ) => {
        const workflowId = workflowIdFor(request, options.tenant);
        const caller = {
          tenantId: options.tenant,
          apiKey: resolveApiKey(settings, options.tenant, options.apiKey),
        };
        await withTemporal(settings, async (client) => {
          const gatehouse = new GatehouseClient(client, { taskQueue: settings.taskQueue });
          try {
            const recorded = await gatehouse.feedback(workflowId, caller, {
              score: options.score,
              comment: options.comment,
              feedbackId: options.feedbackId,
            });
            process.stdout.write(
              `feedback ${recorded.feedbackId} recorded on ${workflowId}: score ${recorded.score}, route ${recorded.routeId ?? '(none)'}, prompt ${recorded.promptRef ?? '(none)'}, documents ${recorded.retrievedDocumentIds.join(', ') || '(none)'}\n`,
            );
          } catch (error) {
            if (error instanceof RequestNotFoundError) {
              throw new CliError(`no request ${workflowId} that this key may see`, EXIT_CODES.notFound);
            }
            if (error instanceof GatehouseRequestError)
              throw new CliError(error.message, EXIT_CODES.forbidden);
            throw error;
          }
        });
      },
    );
}
