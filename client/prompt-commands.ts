import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import {
  diffPrompts,
  findPromptVersion,
  listPromptVersions,
  parsePromptFile,
  PromptRegistryError,
  promotePrompt,
  publishPrompt,
  type PromptFile,
} from '../governance/prompt-registry';
import { asGovernor, CliError, governanceChange, refusalsToCli } from './cli-context';
import { governanceKeyOption, noteOption, tenantOption, wholeNumberIn } from './command-options';
import { byActor } from './key-commands';

function readPromptFile(file: string): PromptFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parsePromptFile(text, file);
  if (!parsed.ok) {
    throw new CliError(`${file} is not a publishable prompt:\n  ${parsed.problems.join('\n  ')}`);
  }
  return parsed.prompt;
}

const wholeNumber = wholeNumberIn(0, Infinity, 'expected a whole number');

function promptName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value))
    throw new InvalidArgumentError('lower-case letters, digits and dashes');
  return value;
}

/** `gatehouse prompts publish | promote | list | diff`: the tenant's prompt registry. */
export function registerPromptCommands(program: Command, settings: GatehouseSettings): void {
  const prompts = program
    .command('prompts')
    .description('the prompt registry: immutable versions, labels and canary splits');

  prompts
    .command('publish')
    .description('publish a prompt file (system, user, variables) as the next immutable version')
    .argument('<file>', 'prompt file (.yaml, .yml or .json)')
    .addOption(tenantOption())
    .requiredOption('--name <name>', 'prompt name', promptName)
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .action(
      async (file: string, options: { tenant: string; name: string; apiKey?: string; note?: string }) => {
        const prompt = readPromptFile(file);
        const published = await governanceChange(
          settings,
          options,
          PromptRegistryError,
          async (writer, actor) => ({
            ...(await publishPrompt(writer, { tenantId: options.tenant, name: options.name, actor, prompt })),
            actor,
          }),
        );
        process.stdout.write(
          published.created
            ? `prompt ${options.name}@${published.version} of '${options.tenant}' published ${byActor(published.actor)} (sha256 ${published.contentHash}); no label points at it yet: use prompts promote\n`
            : `prompt ${options.name}@${published.version} of '${options.tenant}' already has this content (sha256 ${published.contentHash}); no new version\n`,
        );
      },
    );

  prompts
    .command('promote')
    .description('point production, staging or canary (with --percent of production traffic) at a version')
    .addOption(tenantOption())
    .requiredOption('--name <name>', 'prompt name', promptName)
    .requiredOption('--version <n>', 'the version to point at', wholeNumber)
    .requiredOption('--label <label>', 'production | staging | canary')
    .option('--percent <n>', 'canary only: the share of production requests (0–100) it takes', wholeNumber)
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .action(
      async (options: {
        tenant: string;
        name: string;
        version: number;
        label: string;
        percent?: number;
        apiKey?: string;
        note?: string;
      }) => {
        const promoted = await governanceChange(
          settings,
          options,
          PromptRegistryError,
          async (writer, actor) => ({
            changes: await promotePrompt(writer, {
              tenantId: options.tenant,
              name: options.name,
              version: options.version,
              label: options.label,
              percent: options.percent,
              actor,
            }),
            actor,
          }),
        );
        const share = options.percent === undefined ? '' : ` for ${options.percent} % of production requests`;
        process.stdout.write(
          `${options.name}:${options.label} of '${options.tenant}' now points at version ${options.version}${share} (${byActor(promoted.actor)}; ${promoted.changes.length} change(s) recorded in the audit chain)\n`,
        );
      },
    );

  prompts
    .command('list')
    .description("the tenant's prompt versions with content hashes and labels")
    .addOption(tenantOption())
    .option('--name <name>', 'only this prompt', promptName)
    .option('--json', 'print the versions as JSON (templates included)')
    .addOption(governanceKeyOption('governance:read'))
    .action(async (options: { tenant: string; name?: string; json?: boolean; apiKey?: string }) => {
      await asGovernor(settings, options, 'governance:read', async ({ db }) => {
        const versions = await listPromptVersions(db, options.tenant, options.name);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
          return;
        }
        if (versions.length === 0) {
          process.stdout.write(
            `'${options.tenant}' has no prompt versions${options.name ? ` named ${options.name}` : ''}\n`,
          );
          return;
        }
        for (const entry of versions) {
          const labels = entry.labels.map((label) =>
            label === 'canary' && entry.canaryPercent !== undefined
              ? `canary ${entry.canaryPercent} %`
              : label,
          );
          process.stdout.write(
            `${entry.name}@${entry.version}  ${entry.createdAt}  sha256 ${entry.contentHash}${labels.length > 0 ? `  [${labels.join(', ')}]` : ''}${entry.variables ? `  variables: ${Object.keys(entry.variables).join(', ')}` : ''}\n`,
          );
        }
      });
    });

  prompts
    .command('diff')
    .description('line diff between two versions (numbers or labels), or a version and a prompt file')
    .addOption(tenantOption())
    .requiredOption('--name <name>', 'prompt name', promptName)
    .option('--from <version-or-label>', 'the version or label to compare from', 'production')
    .option('--to <version-or-label>', 'the version or label to compare with')
    .option('--file <file>', 'compare with this prompt file instead of a stored version')
    .addOption(governanceKeyOption('governance:read'))
    .action(
      async (options: {
        tenant: string;
        name: string;
        from: string;
        to?: string;
        file?: string;
        apiKey?: string;
      }) => {
        if ((options.to === undefined) === (options.file === undefined)) {
          throw new CliError('name exactly one of --to <version-or-label> and --file <file>');
        }
        const file = options.file === undefined ? undefined : readPromptFile(options.file);
        await asGovernor(settings, options, 'governance:read', async ({ db }) => {
          await refusalsToCli(PromptRegistryError, async () => {
            const reference = { tenantId: options.tenant, name: options.name };
            const from = await findPromptVersion(db, { ...reference, reference: options.from });
            const to =
              file === undefined
                ? await findPromptVersion(db, { ...reference, reference: options.to as string })
                : { systemTemplate: file.system, userTemplate: file.user, variables: file.variables };
            const target =
              file === undefined ? `${options.name}@${(to as { version: number }).version}` : options.file;
            const diff = diffPrompts(from, to);
            process.stdout.write(
              diff === ''
                ? `${options.name}@${from.version} and ${target} are the same\n`
                : `--- ${options.name}@${from.version}\n+++ ${target}\n${diff}`,
            );
          });
        });
      },
    );
}
