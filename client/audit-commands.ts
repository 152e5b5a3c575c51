import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { newAuditKeyFile, readAuditPublicKey } from '../governance/audit-key-store';
import { createAuditCheckpointSink } from '../governance/audit-checkpoint-sinks';
import { verifyAuditTrail, type AuditTrailReport } from '../governance/verify-audit-trail';
import { writeAuditCheckpoints } from '../governance/write-audit-checkpoints';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildEvidenceBundle, EvidenceError } from '../governance/build-evidence-bundle';
import { verifyEvidenceBundle } from '../governance/evidence-bundle';
import { AuditRetentionError, auditRetentionDaysOf, pruneAuditTrail } from '../governance/prune-audit-trail';
import { auditEventsToCsv, auditEventsToJsonLines } from '../governance/export-audit-events';
import { hasAuditHistory, listAuditEvents } from '../store/audit-repository';
import type { GatehouseSettings } from '../config/environment';
import {
  asAuditor,
  authenticateOperator,
  CliError,
  EXIT_CODES,
  loadCliAuditKeys,
  resolveApiKey,
  withDatabase,
  withTemporal,
  workflowIdFor,
  refusalsToCli,
} from './cli-context';
import { formatRequestRecord, loadRequestRecord } from './request-record';
import { demoTenantOption, operatorKeyOption, tenantOption, wholeNumberIn } from './command-options';

/** `gatehouse audit verify --bundle`: offline, with only the public key; exit 1 when it fails. */
function verifyBundleCommand(bundleFile: string, publicKeyFile: string): void {
  let publicKeyPem: string;
  let bytes: Buffer;
  try {
    publicKeyPem = readFileSync(publicKeyFile, 'utf8');
    bytes = readFileSync(bundleFile);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const verdict = verifyEvidenceBundle(bytes, readAuditPublicKey(publicKeyPem, publicKeyFile));
  if (!verdict.ok) {
    process.stdout.write(`evidence bundle ${bundleFile} does NOT verify: ${verdict.reason}\n`);
    process.exitCode = EXIT_CODES.error;
    return;
  }
  const { manifest, events, chain, checkpoint, history } = verdict.body;
  process.stdout.write(
    `evidence bundle ${bundleFile} verifies: ${events.length} event(s) of ${manifest.workflowId}, chained to the checkpoint of '${manifest.tenantId}' at #${checkpoint.seq} signed ${checkpoint.at} (${chain.length} link(s)); ${history === null ? 'no history' : `history of ${history.length} run(s)`}; made by ${manifest.createdBy} at ${manifest.createdAt}\n`,
  );
}

const parseCount = wholeNumberIn(0, Infinity, 'must be a whole number ≥ 0');

/** The verdict as the CLI prints it: what was checked against what, or the first bad event. */
export function formatAuditTrailReport(tenantId: string, report: AuditTrailReport): string {
  const checkpoints =
    report.checkpoints.latestSeq === undefined
      ? 'no signed checkpoint yet'
      : `${report.checkpoints.valid} signed checkpoint(s), latest at #${report.checkpoints.latestSeq} (${report.checkpoints.latestAt ?? ''})`;
  const history =
    report.history === undefined
      ? 'Temporal history not read'
      : `${report.history.witnesses} head(s) witnessed in ${report.history.runsRead} run(s) of Temporal history${report.history.unreadable > 0 ? ` (${report.history.unreadable} unreadable)` : ''}`;
  const verdict = report.verdict;
  if (verdict.ok) {
    return `audit chain of '${tenantId}' verifies: ${verdict.checked} event(s), head at #${verdict.headSeq}; ${report.ledgerRowsChecked ?? 0} ledger row(s) and ${report.governanceItemsChecked ?? 0} policy, prompt and key item(s) match their events; checked against ${checkpoints}; ${history}`;
  }
  const request = verdict.firstBadWorkflowId === undefined ? '' : ` (request ${verdict.firstBadWorkflowId})`;
  return `audit chain of '${tenantId}' is BROKEN at #${verdict.firstBadSeq}${request}: ${verdict.reason} (${verdict.checked} event(s) checked; ${checkpoints}; ${history})`;
}

/** `gatehouse audit …`: verify a tenant's chain, checkpoint heads, show one request's record. */
export function registerAuditCommands(program: Command, settings: GatehouseSettings): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');

  audit
    .command('verify')
    .description(
      "walk a tenant's keyed hash chain, check it against the signed checkpoints and the heads its requests recorded in Temporal history; name the first bad event",
    )
    .option('-t, --tenant <id>', 'tenant id')
    .addOption(operatorKeyOption())
    .option('--no-history', 'do not read Temporal history (checkpoints and the chain only)')
    .option('--history-limit <n>', 'read at most this many runs from Temporal', parseCount, 1000)
    .option('--bundle <file>', 'verify an evidence bundle offline instead, with only the public key')
    .option('--public-key <file>', 'the checkpoint public key (PEM) for --bundle', 'audit-public-key.pem')
    .action(
      async (options: {
        tenant?: string;
        apiKey?: string;
        history: boolean;
        historyLimit: number;
        bundle?: string;
        publicKey: string;
      }) => {
        if (options.bundle !== undefined) {
          verifyBundleCommand(options.bundle, options.publicKey);
          return;
        }
        if (options.tenant === undefined)
          throw new CliError('give --tenant, or --bundle to verify an evidence bundle');
        const tenant = options.tenant;
        const apiKey = resolveApiKey(settings, tenant, options.apiKey);
        const keys = loadCliAuditKeys(settings);
        const checkpointSink = createAuditCheckpointSink(settings.audit);
        await withDatabase(settings, async (db) => {
          await authenticateOperator(db, tenant, apiKey, 'audit');
          if (!(await hasAuditHistory(db, tenant))) {
            throw new CliError(
              `tenant '${tenant}' has no audit trail: no request of it was ever recorded`,
              EXIT_CODES.notFound,
            );
          }
          const verify = (client?: Client) =>
            verifyAuditTrail(db, tenant, {
              keys,
              checkpointSink,
              client,
              historyLimit: options.historyLimit,
            });
          let report: AuditTrailReport;
          if (!options.history) report = await verify();
          else {
            try {
              report = await withTemporal(settings, verify);
            } catch (error) {
              if (!(error instanceof CliError) || !error.message.startsWith('cannot reach Temporal'))
                throw error;
              process.stderr.write(`${error.message}\nChecking against the checkpoints only.\n`);
              report = await verify();
            }
          }
          process.stdout.write(`${formatAuditTrailReport(tenant, report)}\n`);
          if (!report.verdict.ok) process.exitCode = EXIT_CODES.error;
        });
      },
    );

  audit
    .command('checkpoint')
    .description(
      "sign every tenant's chain head now and append it to the checkpoint sink (the reconciler does this on each pass)",
    )
    .option('-t, --tenant <id>', 'only this tenant')
    .action(async (options: { tenant?: string }) => {
      const keys = loadCliAuditKeys(settings);
      const checkpointSink = createAuditCheckpointSink(settings.audit);
      await withDatabase(settings, async (db) => {
        const written = await writeAuditCheckpoints(
          db,
          { keys, checkpointSink },
          { now: new Date(), tenantId: options.tenant },
        );
        for (const checkpoint of written) {
          process.stdout.write(
            `checkpoint: tenant '${checkpoint.tenantId}' at #${checkpoint.seq} ${checkpoint.headHash.slice(0, 16)}… signed by ${checkpoint.signingKeyId}\n`,
          );
        }
        process.stdout.write(`${written.length} checkpoint(s) appended to ${checkpointSink.description}\n`);
      });
    });

  audit
    .command('evidence')
    .description(
      'a signed evidence bundle of one request: its audit events, the chain proof up to a signed checkpoint, its decoded Temporal history and a manifest of hashes',
    )
    .argument('<id>', 'workflow id, or request id with --tenant')
    .addOption(tenantOption())
    .requiredOption('--out <file>', 'where to write the bundle')
    .addOption(operatorKeyOption())
    .option('--no-history', 'leave the Temporal history out')
    .action(
      async (id: string, options: { tenant: string; out: string; apiKey?: string; history: boolean }) => {
        const workflowId = workflowIdFor(id, options.tenant);
        const keys = loadCliAuditKeys(settings);
        const checkpointSink = createAuditCheckpointSink(settings.audit);
        await asAuditor(settings, options, async ({ db, client, operator }) => {
          const built = await refusalsToCli(EvidenceError, () =>
            buildEvidenceBundle(db, {
              tenantId: options.tenant,
              workflowId,
              createdBy: operator,
              keys,
              checkpointSink,
              client: options.history ? client : undefined,
              now: new Date(),
            }),
          );
          writeFileSync(options.out, built.bytes, { mode: 0o600 });
          process.stdout.write(
            `evidence for ${workflowId} written to ${options.out}: ${built.summary.events} event(s), chain proof of ${built.summary.links} link(s) to the checkpoint at #${built.summary.checkpointSeq}, history of ${built.summary.historyRuns} run(s); signed by ${keys.signing.keyId}\n` +
              `verify it anywhere with: gatehouse audit verify --bundle ${options.out} --public-key audit-public-key.pem\n`,
          );
        });
      },
    );

  audit
    .command('export')
    .description("a tenant's audit events since a date, as JSON lines or CSV (stdout, or --out)")
    .addOption(tenantOption())
    .requiredOption('--since <date>', 'ISO date or time, e.g. 2026-12-01')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to this file instead of stdout')
    .addOption(operatorKeyOption())
    .action(
      async (options: { tenant: string; since: string; format: string; out?: string; apiKey?: string }) => {
        const since = new Date(options.since);
        if (Number.isNaN(since.getTime())) throw new CliError(`--since '${options.since}' is not a date`);
        if (options.format !== 'jsonl' && options.format !== 'csv')
          throw new CliError(`--format must be jsonl or csv, not '${options.format}'`);
        const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
        await withDatabase(settings, async (db) => {
          await authenticateOperator(db, options.tenant, apiKey, 'audit');
          const events = await listAuditEvents(db, { tenantId: options.tenant, since });
          const text = options.format === 'csv' ? auditEventsToCsv(events) : auditEventsToJsonLines(events);
          if (options.out === undefined) process.stdout.write(text);
          else {
            writeFileSync(options.out, text, { mode: 0o600 });
            process.stdout.write(
              `${events.length} event(s) of '${options.tenant}' written to ${options.out}\n`,
            );
          }
        });
      },
    );

  audit
    .command('prune')
    .description(
      "remove a tenant's audit events older than its retention (policy auditRetentionDays, or --older-than-days); the rest stays verifiable from a signed checkpoint",
    )
    .addOption(tenantOption())
    .option('--older-than-days <n>', 'instead of the policy', parseCount)
    .addOption(operatorKeyOption())
    .action(async (options: { tenant: string; olderThanDays?: number; apiKey?: string }) => {
      const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
      const keys = loadCliAuditKeys(settings);
      const checkpointSink = createAuditCheckpointSink(settings.audit);
      await withDatabase(settings, async (db) => {
        await authenticateOperator(db, options.tenant, apiKey, 'audit');
        const days = options.olderThanDays ?? (await auditRetentionDaysOf(db, options.tenant));
        if (days === undefined) {
          throw new CliError(
            `tenant '${options.tenant}' has no auditRetentionDays in its policy; give --older-than-days`,
          );
        }
        const now = new Date();
        const result = await refusalsToCli(AuditRetentionError, () =>
          pruneAuditTrail(db, {
            tenantId: options.tenant,
            before: new Date(now.getTime() - days * 24 * 60 * 60 * 1000),
            keys,
            checkpointSink,
            now,
          }),
        );
        process.stdout.write(
          `pruned ${result.pruned} event(s) of '${options.tenant}' older than ${days} day(s); the chain now starts after #${result.prunedThroughSeq}, anchored by a signed checkpoint\n`,
        );
      });
    });

  audit
    .command('keygen')
    .description(
      'print a new set of audit keys (HMAC chain key and Ed25519 checkpoint key) as one line of JSON, for GATEHOUSE_AUDIT_KEYS',
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(newAuditKeyFile())}\n`);
    });

  audit
    .command('public-key')
    .description('print the Ed25519 public key that checkpoints and evidence bundles are signed with')
    .action(() => {
      process.stdout.write(loadCliAuditKeys(settings).signing.publicKeyPem);
    });

  audit
    .command('show')
    .description(
      "one request's whole record from the audit store: every run, step, attempt and operator action",
    )
    .argument('<id>', 'workflow id, or request id with --tenant')
    .addOption(demoTenantOption())
    .addOption(operatorKeyOption())
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
