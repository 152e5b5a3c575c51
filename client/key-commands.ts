import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import { KEY_SCOPES, keyStatus, parseDuration } from '../domain/api-key-access';
import {
  ApiKeyError,
  BOOTSTRAP_SCOPES,
  bootstrapGovernanceKey,
  createKey,
  DEFAULT_ROTATION_GRACE_MS,
  revokeKey,
  rotateKey,
  type GovernanceActor,
} from '../governance/api-keys';
import { listApiKeys, type ApiKeyRecord } from '../store/api-key-repository';
import { asGovernor, auditedChange, CliError, governanceChange } from './cli-context';
import { governanceKeyOption, noteOption, tenantOption } from './command-options';

function duration(value: string): number {
  if (value === '0') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new InvalidArgumentError('use a number with d, h or m, e.g. 30d, 12h, 90m');
  return ms;
}

function scopeList(value: string): string[] {
  return value
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
}

/** `--feature` may be given once per feature. */
function collectFeature(value: string, previous: string[] = []): string[] {
  return [...previous, value.trim()];
}

/** `, features faq,search` for a bound key; nothing for an unbound one. */
function bindingOf(key: ApiKeyRecord): string {
  return key.features === undefined ? '' : `, features ${key.features.join(',')}`;
}

function describeKey(key: ApiKeyRecord, now: number): string {
  const status = keyStatus(key, now);
  const until =
    status === 'revoked'
      ? `revoked ${key.revokedAt ?? ''}`
      : key.expiresAt === undefined
        ? 'no expiry'
        : `${status === 'expired' ? 'expired' : 'expires'} ${key.expiresAt}`;
  const rotated = key.replacedBy === undefined ? '' : `  replaced by ${key.replacedBy}`;
  const features = key.features === undefined ? '' : `  features ${key.features.join(',')}`;
  return `${key.keyId}  ${key.principalId}  ${status}  scopes ${key.scopes.join(',')}${features}  created ${key.createdAt}  ${until}${rotated}`;
}

/** `by <principal> with key <key id>`: the author of record of a change, as the CLI prints it. */
export function byActor(actor: GovernanceActor): string {
  return `by ${actor.principalId} with key ${actor.keyId}`;
}

interface CreateOptions {
  tenant: string;
  principal: string;
  scopes?: string[];
  expires?: number;
  feature?: string[];
  bootstrap?: boolean;
  apiKey?: string;
  note?: string;
}

/** `keys create --bootstrap`: the tenant's first governance key, made without a key. */
async function bootstrap(settings: GatehouseSettings, options: CreateOptions): Promise<void> {
  const conflicting = [
    options.scopes === undefined ? undefined : '--scopes',
    options.expires === undefined ? undefined : '--expires',
    options.feature === undefined ? undefined : '--feature',
    options.apiKey === undefined ? undefined : '--api-key',
  ].filter((flag): flag is string => flag !== undefined);
  if (conflicting.length > 0) {
    throw new CliError(
      `--bootstrap issues a key with scopes ${BOOTSTRAP_SCOPES.join(',')} and no expiry, made without a key; drop ${conflicting.join(', ')}`,
    );
  }
  const issued = await auditedChange(settings, ApiKeyError, (writer) =>
    bootstrapGovernanceKey(writer, {
      tenantId: options.tenant,
      principalId: options.principal,
      ...(options.note === undefined ? {} : { note: options.note }),
    }),
  );
  process.stdout.write(
    `key ${issued.record.keyId} for ${options.principal} of '${options.tenant}' (scopes ${issued.record.scopes.join(',')}, no expiry): the tenant's first governance key, recorded in the audit chain as a bootstrap\n` +
      `secret (shown only now): ${issued.secret}\n` +
      `further keys: gatehouse keys create --tenant ${options.tenant} ... --api-key <this secret>\n`,
  );
}

/** `gatehouse keys create | list | revoke | rotate`: API keys with scopes and expiry, every change audited. */
export function registerKeyCommands(program: Command, settings: GatehouseSettings): void {
  const keys = program
    .command('keys')
    .description(
      `API keys with scopes (${KEY_SCOPES.join(', ')}), expiry and feature binding; secrets are shown once`,
    );

  keys
    .command('create')
    .description(
      'issue a key for a principal (needs a governance:write key, or --bootstrap for a tenant that never had one); prints the secret once',
    )
    .addOption(tenantOption())
    .requiredOption('--principal <id>', 'the principal the key acts as')
    .option('--scopes <list>', `comma-separated: ${KEY_SCOPES.join(', ')}`, scopeList)
    .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: no expiry)', duration)
    .option(
      '--feature <name>',
      "bind the key's requests to this feature (repeatable): they are charged to it, and naming another is refused",
      collectFeature,
    )
    .option(
      '--bootstrap',
      `issue the tenant's first governance key (${BOOTSTRAP_SCOPES.join(',')}) without a key; refused once the tenant has one`,
    )
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .action(async (options: CreateOptions) => {
      if (options.bootstrap === true) {
        await bootstrap(settings, options);
        return;
      }
      if (options.scopes === undefined) {
        throw new CliError(
          "--scopes <list> is required (--bootstrap issues a tenant's first governance key without it)",
        );
      }
      const scopes = options.scopes;
      const issued = await governanceChange(settings, options, ApiKeyError, async (writer, actor) => ({
        ...(await createKey(writer, {
          tenantId: options.tenant,
          principalId: options.principal,
          scopes,
          ...(options.expires === undefined ? {} : { expiresInMs: options.expires }),
          ...(options.feature === undefined ? {} : { features: options.feature }),
          actor,
        })),
        actor,
      }));
      process.stdout.write(
        `key ${issued.record.keyId} for ${options.principal} of '${options.tenant}' (scopes ${issued.record.scopes.join(',')}${bindingOf(issued.record)}, ${issued.record.expiresAt === undefined ? 'no expiry' : `expires ${issued.record.expiresAt}`}), created ${byActor(issued.actor)}\n` +
          `secret (shown only now): ${issued.secret}\n`,
      );
    });

  keys
    .command('list')
    .description("the tenant's keys: id, principal, status, scopes, dates — never secrets")
    .addOption(tenantOption())
    .option('--principal <id>', 'only this principal')
    .option('--json', 'print the keys as JSON')
    .addOption(governanceKeyOption('governance:read'))
    .action(async (options: { tenant: string; principal?: string; json?: boolean; apiKey?: string }) => {
      await asGovernor(settings, options, 'governance:read', async ({ db }) => {
        const found = await listApiKeys(db, options.tenant, options.principal);
        const now = Date.now();
        if (options.json) {
          const rows = found.map((key) => ({ ...key, status: keyStatus(key, now) }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (found.length === 0)
          process.stdout.write(`'${options.tenant}' has no keys made with keys create\n`);
        for (const key of found) process.stdout.write(`${describeKey(key, now)}\n`);
      });
    });

  keys
    .command('revoke')
    .description('revoke a key now: requests started with it from now on are refused')
    .addOption(tenantOption())
    .requiredOption('--key <id>', 'key id (from keys list)')
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .action(async (options: { tenant: string; key: string; apiKey?: string; note?: string }) => {
      const { record, actor } = await governanceChange(
        settings,
        options,
        ApiKeyError,
        async (writer, actor) => ({
          ...(await revokeKey(writer, { tenantId: options.tenant, keyId: options.key, actor })),
          actor,
        }),
      );
      process.stdout.write(
        `key ${record.keyId} of '${options.tenant}' revoked at ${record.revokedAt ?? '?'} ${byActor(actor)}\n`,
      );
    });

  keys
    .command('rotate')
    .description(
      'issue a new secret for a key; the old one keeps working for the grace period (0: revoked now)',
    )
    .addOption(tenantOption())
    .requiredOption('--key <id>', 'key id (from keys list)')
    .option(
      '--grace <duration>',
      'how long the old secret keeps working, e.g. 12h, or 0 (default: 24h)',
      duration,
    )
    .addOption(governanceKeyOption('governance:write'))
    .addOption(noteOption())
    .action(
      async (options: { tenant: string; key: string; grace?: number; apiKey?: string; note?: string }) => {
        const rotated = await governanceChange(settings, options, ApiKeyError, async (writer, actor) => ({
          ...(await rotateKey(writer, {
            tenantId: options.tenant,
            keyId: options.key,
            graceMs: options.grace ?? DEFAULT_ROTATION_GRACE_MS,
            actor,
          })),
          actor,
        }));
        const old =
          rotated.old.revokedAt !== undefined
            ? `revoked at ${rotated.old.revokedAt}`
            : `valid until ${rotated.old.expiresAt ?? '?'}`;
        process.stdout.write(
          `key ${rotated.old.keyId} rotated ${byActor(rotated.actor)}: new key ${rotated.record.keyId} (scopes ${rotated.record.scopes.join(',')}${bindingOf(rotated.record)}); the old key is ${old}\n` +
            `secret (shown only now): ${rotated.secret}\n`,
        );
      },
    );
}
