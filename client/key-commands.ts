import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import { KEY_SCOPES, keyStatus, parseDuration } from '../domain/api-key-access';
import {
  ApiKeyError,
  createKey,
  DEFAULT_ROTATION_GRACE_MS,
  revokeKey,
  rotateKey,
} from '../governance/api-keys';
import { listApiKeys, type ApiKeyRecord } from '../store/api-key-repository';
import { auditedChange, withDatabase } from './cli-context';
import { authorOption, tenantOption } from './command-options';

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

function describeKey(key: ApiKeyRecord, now: number): string {
  const status = keyStatus(key, now);
  const until =
    status === 'revoked'
      ? `revoked ${key.revokedAt ?? ''}`
      : key.expiresAt === undefined
        ? 'no expiry'
        : `${status === 'expired' ? 'expired' : 'expires'} ${key.expiresAt}`;
  const rotated = key.replacedBy === undefined ? '' : `  replaced by ${key.replacedBy}`;
  return `${key.keyId}  ${key.principalId}  ${status}  scopes ${key.scopes.join(',')}  created ${key.createdAt}  ${until}${rotated}`;
}

/** `gatehouse keys create | list | revoke | rotate`: API keys with scopes and expiry, every change audited. */
export function registerKeyCommands(program: Command, settings: GatehouseSettings): void {
  const keys = program
    .command('keys')
    .description(`API keys with scopes (${KEY_SCOPES.join(', ')}) and expiry; secrets are shown once`);

  keys
    .command('create')
    .description('issue a key for a principal; prints the secret once (only its hash is stored)')
    .addOption(tenantOption())
    .requiredOption('--principal <id>', 'the principal the key acts as')
    .requiredOption('--scopes <list>', `comma-separated: ${KEY_SCOPES.join(', ')}`, scopeList)
    .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: no expiry)', duration)
    .addOption(authorOption())
    .action(
      async (options: {
        tenant: string;
        principal: string;
        scopes: string[];
        expires?: number;
        author: string;
      }) => {
        const issued = await auditedChange(settings, ApiKeyError, (writer) =>
          createKey(writer, {
            tenantId: options.tenant,
            principalId: options.principal,
            scopes: options.scopes,
            ...(options.expires === undefined ? {} : { expiresInMs: options.expires }),
            author: options.author,
          }),
        );
        process.stdout.write(
          `key ${issued.record.keyId} for ${options.principal} of '${options.tenant}' (scopes ${issued.record.scopes.join(',')}, ${issued.record.expiresAt === undefined ? 'no expiry' : `expires ${issued.record.expiresAt}`}), created by ${options.author}\n` +
            `secret (shown only now): ${issued.secret}\n`,
        );
      },
    );

  keys
    .command('list')
    .description("the tenant's keys: id, principal, status, scopes, dates — never secrets")
    .addOption(tenantOption())
    .option('--principal <id>', 'only this principal')
    .option('--json', 'print the keys as JSON')
    .action(async (options: { tenant: string; principal?: string; json?: boolean }) => {
      await withDatabase(settings, async (db) => {
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
    .addOption(authorOption())
    .action(async (options: { tenant: string; key: string; author: string }) => {
      const { record } = await auditedChange(settings, ApiKeyError, (writer) =>
        revokeKey(writer, { tenantId: options.tenant, keyId: options.key, author: options.author }),
      );
      process.stdout.write(
        `key ${record.keyId} of '${options.tenant}' revoked at ${record.revokedAt ?? '?'} by ${options.author}\n`,
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
    .addOption(authorOption())
    .action(async (options: { tenant: string; key: string; grace?: number; author: string }) => {
      const rotated = await auditedChange(settings, ApiKeyError, (writer) =>
        rotateKey(writer, {
          tenantId: options.tenant,
          keyId: options.key,
          graceMs: options.grace ?? DEFAULT_ROTATION_GRACE_MS,
          author: options.author,
        }),
      );
      const old =
        rotated.old.revokedAt !== undefined
          ? `revoked at ${rotated.old.revokedAt}`
          : `valid until ${rotated.old.expiresAt ?? '?'}`;
      process.stdout.write(
        `key ${rotated.old.keyId} rotated by ${options.author}: new key ${rotated.record.keyId} (scopes ${rotated.record.scopes.join(',')}); the old key is ${old}\n` +
          `secret (shown only now): ${rotated.secret}\n`,
      );
    });
}
