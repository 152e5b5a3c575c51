import { InvalidArgumentError, type Command } from 'commander';
import {
  ALL_TENANTS,
  addCodecToken,
  createCodecTokenVerifier,
  readCodecTokenFile,
  revokeCodecToken,
} from '../codec/codec-access-tokens';
import { startCodecServer } from '../codec/codec-server';
import { activatePayloadKey, addPayloadKey, readPayloadKeyFile } from '../codec/payload-key-store';
import { newPayloadKeyId, newPayloadKeyMaterial } from '../codec/payload-keyring';
import { tenantIdSchema } from '../domain/request-contract';
import type { GatehouseSettings } from '../config/environment';
import { dataKeyProviderFor, loadPayloadKeyring } from '../codec/payload-encryption';
import { wholeNumberIn } from './command-options';

const port = wholeNumberIn(0, 65_535, 'expected a port');

function tenantList(value: string): string[] {
  const tenants = value
    .split(',')
    .map((tenant) => tenant.trim())
    .filter(Boolean);
  for (const tenant of tenants) {
    if (!tenantIdSchema.safeParse(tenant).success)
      throw new InvalidArgumentError(`'${tenant}' is not a tenant id`);
  }
  if (tenants.length === 0) throw new InvalidArgumentError('name at least one tenant');
  return tenants;
}

function keyFileOnly(settings: GatehouseSettings): string {
  if (settings.codec.keysFromEnvironment !== undefined) {
    throw new Error(
      'payload keys come from GATEHOUSE_CODEC_KEYS: rotate there (put a new `id:key` first, keep the old ones); `gatehouse codec-key generate` prints a new one',
    );
  }
  return settings.codec.keyFile;
}

/**
 * `gatehouse codec-server`, `codec-token …` and `codec-key …`: the codec endpoint for the Temporal UI
 * and CLI, its operator tokens, and payload key rotation.
 */
export function registerCodecCommands(program: Command, settings: GatehouseSettings): void {
  program
    .command('codec-server')
    .description("serve Temporal's codec endpoint (/encode, /decode) for operators with a token")
    .option('--host <address>', 'address to listen on', settings.codec.host)
    .option('--port <port>', 'port to listen on (0: any free one)', port, settings.codec.port)
    .option(
      '--allow-origin <origin...>',
      'browser origins allowed to call it (the Temporal UI)',
      settings.codec.allowedOrigins,
    )
    .action(async (options: { host: string; port: number; allowOrigin: string[] }) => {
      const { keyring, source } = await loadPayloadKeyring(settings);
      const server = await startCodecServer({
        keyring,
        tokens: createCodecTokenVerifier(settings.codec),
        host: options.host,
        port: options.port,
        allowedOrigins: options.allowOrigin,
        secureCookies: settings.codec.publicUrl.startsWith('https:'),
        log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
      });
      process.stdout.write(
        [
          `codec server on ${server.url} (public address ${settings.codec.publicUrl})`,
          `keys: ${keyring.keyIds.length} from the ${source === 'environment' ? 'environment' : 'key file'}, active ${keyring.activeKeyId}`,
          `tokens: ${settings.codec.tokensFromEnvironment !== undefined ? 'GATEHOUSE_CODEC_TOKENS' : settings.codec.tokenFile}`,
          `browser origins allowed: ${options.allowOrigin.join(', ') || 'none'}`,
          `temporal workflow show -w <id> --codec-endpoint ${settings.codec.publicUrl} --codec-auth "Bearer <token>"`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });

  const tokens = program.command('codec-token').description('operator tokens of the codec server');
  tokens
    .command('add')
    .description('issue a token (printed once; only its SHA-256 is stored)')
    .argument('<name>', 'who holds it, e.g. support-acme')
    .option('--tenants <ids>', 'comma-separated tenants it may decode', tenantList)
    .option('--all-tenants', 'it may decode every tenant, and payloads that name no tenant')
    .action((name: string, options: { tenants?: string[]; allTenants?: boolean }) => {
      if (Boolean(options.tenants) === Boolean(options.allTenants)) {
        throw new Error('pass exactly one of --tenants <ids> or --all-tenants');
      }
      const { token, entry } = addCodecToken(settings.codec.tokenFile, {
        name,
        tenants: options.allTenants ? ALL_TENANTS : (options.tenants ?? []),
      });
      process.stdout.write(
        `${token}\n` +
          `token '${entry.name}' for ${entry.tenants === ALL_TENANTS ? 'all tenants' : entry.tenants.join(', ')} added to ${settings.codec.tokenFile}; it is not shown again\n`,
      );
    });
  tokens
    .command('list')
    .description('names and scopes of the tokens (never the tokens)')
    .action(() => {
      const { tokens: entries } = readCodecTokenFile(settings.codec.tokenFile);
      process.stdout.write(
        entries.length === 0
          ? `no tokens in ${settings.codec.tokenFile}\n`
          : `${entries
              .map(
                (entry) =>
                  `${entry.name.padEnd(24)} ${entry.tenants === ALL_TENANTS ? 'all tenants' : entry.tenants.join(', ')}  ${entry.createdAt ?? ''}`,
              )
              .join('\n')}\n`,
      );
    });
  tokens
    .command('revoke')
    .description('remove a token; a running codec server refuses it from its next request on')
    .argument('<name>')
    .action((name: string) => {
      revokeCodecToken(settings.codec.tokenFile, name);
      process.stdout.write(`token '${name}' revoked\n`);
    });

  const keys = program.command('codec-key').description('payload encryption keys and their rotation');
  keys
    .command('list')
    .description('key ids, which one is active, and how each is stored (never the keys)')
    .action(() => {
      const file = keyFileOnly(settings);
      const contents = readPayloadKeyFile(file);
      process.stdout.write(
        `${contents.keys
          .map(
            (entry) =>
              `${entry.id === contents.activeKeyId ? '*' : ' '} ${entry.id.padEnd(22)} ${entry.createdAt}  ${entry.wrappedMaterial ? `wrapped by ${entry.wrappingKeyId ?? 'KMS'}` : 'local'}`,
          )
          .join('\n')}\n`,
      );
    });
  keys
    .command('add')
    .description('add a key every process will know; --activate also encrypts new payloads with it')
    .option('--activate', 'make it the active key at once')
    .action(async (options: { activate?: boolean }) => {
      const { id } = await addPayloadKey(keyFileOnly(settings), {
        dataKeyProvider: dataKeyProviderFor(settings.codec),
        activate: Boolean(options.activate),
      });
      process.stdout.write(
        `added payload key ${id}${options.activate ? ' (active)' : '; activate it with `gatehouse codec-key activate ' + id + '` once every process has restarted'}\n`,
      );
    });
  keys
    .command('activate')
    .description('encrypt new payloads with this key (restart processes to apply)')
    .argument('<id>')
    .action((id: string) => {
      activatePayloadKey(keyFileOnly(settings), id);
      process.stdout.write(
        `payload key ${id} is active; restart workers, clients and the codec server to use it\n`,
      );
    });
  keys
    .command('generate')
    .description(
      'print a new `id:base64-key` entry for GATEHOUSE_CODEC_KEYS (deployments without a key file)',
    )
    .action(() => {
      process.stdout.write(`${newPayloadKeyId()}:${newPayloadKeyMaterial().toString('base64')}\n`);
    });
}
