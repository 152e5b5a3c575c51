import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfiguredRouteTable } from '../config/load-route-table';
import type { GatehouseSettings } from '../config/environment';
import { parsePolicyFile, type PolicyFile } from '../governance/policy-file';
import {
  applyPolicy,
  diffPolicy,
  policyHistory,
  PolicyNotApplicableError,
} from '../governance/policy-versions';
import { asGovernor, CliError, governanceChange, refusalsToCli } from './cli-context';
import { governanceKeyOption, noteOption, tenantOption } from './command-options';
import { byActor } from './key-commands';

/** Reads and validates a policy file; every problem is printed on its own line before the CLI exits 1. */
function readPolicyFile(file: string, routesFile: string, settings: GatehouseSettings): PolicyFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let knownRoutes: string[];
  try {
    knownRoutes = loadConfiguredRouteTable(settings, routesFile).routes.map((route) => route.id);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const parsed = parsePolicyFile(text, file, { knownRoutes });
  if (!parsed.ok) {
    throw new CliError(
      `${file} is not a valid policy (${parsed.problems.length} problem(s)):\n  ${parsed.problems.join('\n  ')}`,
    );
  }
  return parsed.policy;
}

/** `gatehouse policy validate | apply | diff | history`: a tenant's policy as a versioned file. */
export function registerPolicyCommands(program: Command, settings: GatehouseSettings): void {
  const policy = program
    .command('policy')
    .description("a tenant's policy as a YAML or JSON file: validate, apply, diff, history");
  const routesHelp = 'route table whose route ids the file may name (default: GATEHOUSE_ROUTES_FILE)';

  policy
    .command('validate')
    .description(
      'check a policy file without touching the database (no key: it reads only the file and the route table); name every problem and its line',
    )
    .argument('<file>', 'policy file (.yaml, .yml or .json)')
    .option('--routes <file>', routesHelp, settings.routesFile)
    .action((file: string, options: { routes: string }) => {
      const parsed = readPolicyFile(file, options.routes, settings);
      const tasks = Object.keys(parsed.taskTypes);
      process.stdout.write(
        `${file} is a valid policy: ${tasks.length} task type(s) (${tasks.join(', ')}), data classes ${parsed.dataClasses.allowed.join(', ')}\n`,
      );
    });

  policy
    .command('apply')
    .description('publish the file as the next immutable policy version and record it in the audit chain')
    .argument('<file>', 'policy file (.yaml, .yml or .json)')
    .addOption(tenantOption())
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .option('--routes <file>', routesHelp, settings.routesFile)
    .action(
      async (file: string, options: { tenant: string; apiKey?: string; note?: string; routes: string }) => {
        const parsed = readPolicyFile(file, options.routes, settings);
        const applied = await governanceChange(
          settings,
          options,
          PolicyNotApplicableError,
          async (writer, actor) => ({
            ...(await applyPolicy(writer, { tenantId: options.tenant, actor, policy: parsed })),
            actor,
          }),
        );
        const budget =
          applied.budgetLimitMicroUsd === undefined
            ? ''
            : `; budget limit ${(applied.budgetLimitMicroUsd / 1_000_000).toFixed(2)} USD`;
        process.stdout.write(
          applied.created
            ? `policy version ${applied.version} of '${options.tenant}' applied ${byActor(applied.actor)} (sha256 ${applied.contentHash})${budget}; ${applied.changes.length} change(s) recorded in the audit chain\n`
            : `policy version ${applied.version} of '${options.tenant}' already says this (sha256 ${applied.contentHash}); no new version${budget}; ${applied.changes.length} change(s) recorded in the audit chain\n`,
        );
      },
    );

  policy
    .command('diff')
    .description("the file against the tenant's active policy version, line by line")
    .argument('<file>', 'policy file (.yaml, .yml or .json)')
    .addOption(tenantOption())
    .addOption(governanceKeyOption('governance:read'))
    .option('--routes <file>', routesHelp, settings.routesFile)
    .action(async (file: string, options: { tenant: string; apiKey?: string; routes: string }) => {
      const parsed = readPolicyFile(file, options.routes, settings);
      await asGovernor(settings, options, 'governance:read', async ({ db }) => {
        const { activeVersion, diff } = await refusalsToCli(PolicyNotApplicableError, () =>
          diffPolicy(db, { tenantId: options.tenant, policy: parsed }),
        );
        const against =
          activeVersion === undefined
            ? `'${options.tenant}' has no policy yet`
            : `active version ${activeVersion}`;
        process.stdout.write(
          diff === '' ? `${file} says what ${against} says\n` : `--- ${against}\n+++ ${file}\n${diff}`,
        );
      });
    });

  policy
    .command('history')
    .description(
      "a tenant's policy versions, newest first: time, author and content hash from the audit chain",
    )
    .addOption(tenantOption())
    .option('--json', 'print the versions as JSON')
    .addOption(governanceKeyOption('governance:read'))
    .action(async (options: { tenant: string; json?: boolean; apiKey?: string }) => {
      await asGovernor(settings, options, 'governance:read', async ({ db }) => {
        const entries = await policyHistory(db, options.tenant);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
          return;
        }
        if (entries.length === 0) {
          process.stdout.write(`'${options.tenant}' has no policy versions\n`);
          return;
        }
        for (const entry of entries) {
          const author = `by ${entry.author ?? '?'}${entry.authorKeyId === undefined ? '' : ` with key ${entry.authorKeyId}`}`;
          const audit =
            entry.matchesAudit === undefined
              ? 'not in the audit chain'
              : entry.matchesAudit
                ? author
                : `${author}, CHANGED since the audit recorded it`;
          process.stdout.write(
            `v${entry.version}${entry.active ? ' (active)' : ''}  ${entry.createdAt}  ${audit}  sha256 ${entry.contentHash}\n`,
          );
        }
      });
    });
}
