import type { Command } from 'commander';
import { hasAuditHistory, verifyAuditChain } from '../store/audit-repository';
import type { GatehouseSettings } from '../config/environment';
import {
  asAuditor,
  authenticateOperator,
  CliError,
  EXIT_CODES,
  resolveApiKey,
  withDatabase,
  workflowIdFor,
} from './cli-context';
import { formatRequestRecord, loadRequestRecord } from './request-record';

/** `gatehouse audit …`: verify a tenant's chain, show one request's record. */
export function registerAuditCommands(program: Command, settings: GatehouseSettings): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  const keyHelp = 'an admin or approver key of the tenant (default: GATEHOUSE_API_KEY, or the demo key)';

  audit
    .command('verify')
    .description("recompute a tenant's hash chain and report the first bad sequence number")
    .requiredOption('-t, --tenant <id>', 'tenant id')
    .option('--api-key <key>', keyHelp)
    .action(async (options: { tenant: string; apiKey?: string }) => {
      const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
      await withDatabase(settings, async (db) => {
        await authenticateOperator(db, options.tenant, apiKey);
        if (!(await hasAuditHistory(db, options.tenant))) {
          throw new CliError(
            `tenant '${options.tenant}' has no audit trail: no request of it was ever recorded`,
            EXIT_CODES.notFound,
          );
        }
        const verdict = await verifyAuditChain(db, options.tenant);
        if (verdict.ok) {
          process.stdout.write(
            `audit chain of '${options.tenant}' verifies: ${verdict.checked} event(s), head at #${verdict.headSeq}\n`,
          );
        } else {
          process.stdout.write(
            `audit chain of '${options.tenant}' is BROKEN at #${verdict.firstBadSeq}: ${verdict.reason} (${verdict.checked} event(s) checked)\n`,
          );
          process.exitCode = EXIT_CODES.error;
        }
      });
    });

  audit
    .command('show')
    .description(
      "one request's whole record from the audit store: every run, step, attempt and operator action",
    )
    .argument('<id>', 'workflow id, or request id with --tenant')
    .option('-t, --tenant <id>', 'tenant id', 'demo')
    .option('--api-key <key>', keyHelp)
    .option('--json', 'print the record as JSON')
    .action(async (id: string, options: { tenant: string; apiKey?: string; json?: boolean }) => {
      const workflowId = workflowIdFor(id, options.tenant);
      await asAuditor(settings, options, async ({ db, client }) => {
        const record = await loadRequestRecord(db, workflowId, client);
        if (record.runs.length === 0)
          throw new CliError(`request ${workflowId} was not found`, EXIT_CODES.notFound);
        process.stdout.write(
          options.json ? `${JSON.stringify(record, null, 2)}\n` : `${formatRequestRecord(record)}\n`,
        );
      });
    });
}
