import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { keyRefusal, type GovernanceScope, type KeyScope } from '../domain/api-key-access';
import {
  authenticateGovernanceKey,
  GovernanceAccessError,
  type GovernanceActor,
} from '../governance/api-keys';
import { parseRequestWorkflowId, requestWorkflowId } from '../domain/request-contract';
import { findPrincipalByApiKey, type PrincipalCredential } from '../store/principal-repository';
import { createKnex } from '../store/knex-client';
import { readDemoCredentials } from '../devtools/demo-credentials';
import type { GatehouseSettings } from '../config/environment';
import { loadGatehouseDataConverter } from '../codec/payload-encryption';
import { AuditKeyError, loadAuditKeys, type AuditKeys } from '../governance/audit-key-store';
import type { AuditWriter } from '../store/audit-repository';
import { startConfiguredTelemetry } from '../telemetry/start-telemetry';
import { tracingClientInterceptors } from '../telemetry/temporal-tracing';

/** Exit codes of the CLI (README, "Exit codes"). */
export const EXIT_CODES = {
  /** Something went wrong that is not the request's own failure (connection, usage). */
  error: 1,
  /** The request ran and ended with a typed failure (denied, over budget, exhausted…). */
  requestFailed: 2,
  /** The request id is already used by a request with a different question or options. */
  conflict: 3,
  /** No request with that id that this key may see. */
  notFound: 4,
  /** Refused: the key is not valid for the tenant, or its principal lacks the role. */
  forbidden: 5,
  /** `batch submit`: the batch ran to the end but some of its requests failed. */
  someRequestsFailed: 6,
} as const;

/** An error the CLI reports as one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_CODES.error,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Runs `run`; an error of class `refusal` (the operation said no, and its message says why) becomes a
 * one-line CliError. Other errors pass through.
 */
export async function refusalsToCli<T>(
  refusal: abstract new (...args: never[]) => Error,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof refusal) throw new CliError(error.message);
    throw error;
  }
}

export async function withTemporal<T>(
  settings: GatehouseSettings,
  run: (client: Client) => Promise<T>,
): Promise<T> {
  const address = settings.temporal.address ?? `127.0.0.1:${settings.temporal.port}`;
  const dataConverter = await loadGatehouseDataConverter(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      tls: settings.temporal.tls ? {} : undefined,
      apiKey: settings.temporal.apiKey,
      connectTimeout: '5s',
    });
  } catch (error) {
    throw new CliError(
      `cannot reach Temporal at ${address} (${(error as Error).message}). Is \`npm start\` running, or TEMPORAL_ADDRESS set?`,
    );
  }
  // The caller's end of the trace: `StartWorkflow` spans that the request's workflow continues.
  const telemetry = startConfiguredTelemetry(settings.telemetry, { serviceName: 'gatehouse-cli' });
  try {
    return await run(
      new Client({
        connection,
        namespace: settings.temporal.namespace,
        dataConverter,
        interceptors: tracingClientInterceptors(telemetry),
      }),
    );
  } finally {
    await connection.close();
    await telemetry?.shutdown();
  }
}

export async function withDatabase<T>(
  settings: GatehouseSettings,
  run: (db: Knex) => Promise<T>,
): Promise<T> {
  const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
  try {
    return await run(db);
  } finally {
    await db.destroy();
  }
}

/** The key to use: `--api-key`, else GATEHOUSE_API_KEY, else (for tenant demo) the key `npm start` saved. */
export function resolveApiKey(settings: GatehouseSettings, tenantId: string, explicit?: string): string {
  const key =
    explicit ??
    settings.apiKey ??
    (tenantId === 'demo' ? readDemoCredentials(settings.dataDir)?.apiKey : undefined);
  if (!key)
    throw new CliError(`no API key for tenant '${tenantId}': pass --api-key or set GATEHOUSE_API_KEY`);
  return key;
}

/**
 * The key a governance command presents: `--api-key`, else GATEHOUSE_API_KEY, else (for tenant demo) the
 * governance key `npm start` saved. Undefined when there is none; the check names that refusal.
 */
export function resolveGovernanceKey(
  settings: GatehouseSettings,
  tenantId: string,
  explicit?: string,
): string | undefined {
  return (
    explicit ??
    settings.apiKey ??
    (tenantId === 'demo' ? readDemoCredentials(settings.dataDir)?.governanceApiKey : undefined)
  );
}

/**
 * Runs a governance command as the principal of its key: the key must belong to `options.tenant`, be
 * neither revoked nor expired, and hold `scope`. A refusal exits with `EXIT_CODES.forbidden` and says
 * which check failed; nothing is read or changed before the check passes.
 */
export async function asGovernor<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string },
  scope: GovernanceScope,
  run: (context: { db: Knex; actor: GovernanceActor }) => Promise<T>,
): Promise<T> {
  const rawKey = resolveGovernanceKey(settings, options.tenant, options.apiKey);
  return withDatabase(settings, async (db) => {
    let actor: GovernanceActor;
    try {
      actor = await authenticateGovernanceKey(db, {
        tenantId: options.tenant,
        rawKey,
        scope,
        atMs: Date.now(),
      });
    } catch (error) {
      if (error instanceof GovernanceAccessError) throw new CliError(error.message, EXIT_CODES.forbidden);
      throw error;
    }
    return run({ db, actor });
  });
}

/**
 * One audited governance change made with a `governance:write` key: `change` gets the audit writer and
 * the key's actor (the author of record); an error of class `refusal` becomes a one-line CliError.
 */
export async function governanceChange<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string; note?: string },
  refusal: abstract new (...args: never[]) => Error,
  change: (writer: AuditWriter, actor: GovernanceActor) => Promise<T>,
): Promise<T> {
  return asGovernor(settings, options, 'governance:write', ({ db, actor }) =>
    refusalsToCli(refusal, () =>
      change(auditWriter(settings, db), {
        ...actor,
        ...(options.note === undefined ? {} : { note: options.note }),
      }),
    ),
  );
}

/** A request's workflow id from `gatehouse/<tenant>/<request>` or a bare request id with `--tenant`. */
export function workflowIdFor(id: string, tenantId: string): string {
  const parsed = parseRequestWorkflowId(id);
  if (parsed) {
    if (parsed.tenantId !== tenantId) {
      throw new CliError(
        `${id} belongs to tenant '${parsed.tenantId}', not '${tenantId}' (--tenant)`,
        EXIT_CODES.notFound,
      );
    }
    return id;
  }
  return requestWorkflowId(tenantId, id);
}

/** Roles that may inspect, retry, cancel and terminate a tenant's requests and read its audit trail. */
export const OPERATOR_ROLES = ['admin', 'approver'] as const;

/**
 * Authenticates the key against the store (the CLI's read and operator commands ask for credentials too)
 * and checks the key's scope, expiry and revocation and the principal's role. The same message for an unknown tenant and a wrong key.
 */
export async function authenticateOperator(
  db: Knex,
  tenantId: string,
  apiKey: string,
  scope: KeyScope = 'operate',
): Promise<PrincipalCredential> {
  const principal = await findPrincipalByApiKey(db, apiKey, tenantId);
  if (!principal || principal.status !== 'active') {
    throw new CliError(`the API key is not valid for tenant '${tenantId}'`, EXIT_CODES.forbidden);
  }
  const refusal = keyRefusal(principal.key, scope, Date.now());
  if (refusal !== undefined) throw new CliError(refusal, EXIT_CODES.forbidden);
  if (!(OPERATOR_ROLES as readonly string[]).includes(principal.role)) {
    throw new CliError(
      `principal '${principal.id}' has role '${principal.role}'; this needs ${OPERATOR_ROLES.join(' or ')}`,
      EXIT_CODES.forbidden,
    );
  }
  return principal;
}

/** Authenticates the operator, then runs with Temporal and the store. */
export async function asOperator<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string },
  run: (context: { operator: string; db: Knex; client: Client }) => Promise<T>,
): Promise<T> {
  const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
  return withDatabase(settings, async (db) => {
    const principal = await authenticateOperator(db, options.tenant, apiKey);
    return withTemporal(settings, (client) => run({ operator: principal.id, db, client }));
  });
}

/** As `asOperator`, for reading the audit store: Temporal is used when it can be reached, not required. */
export async function asAuditor<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string },
  run: (context: { operator: string; db: Knex; client?: Client }) => Promise<T>,
): Promise<T> {
  const apiKey = resolveApiKey(settings, options.tenant, options.apiKey);
  return withDatabase(settings, async (db) => {
    const principal = await authenticateOperator(db, options.tenant, apiKey, 'audit');
    try {
      return await withTemporal(settings, (client) => run({ operator: principal.id, db, client }));
    } catch (error) {
      if (!(error instanceof CliError) || !error.message.startsWith('cannot reach Temporal')) throw error;
      process.stderr.write(`${error.message}\nShowing the audit store only.\n`);
      return run({ operator: principal.id, db });
    }
  });
}

/** The audit keys of this deployment (GATEHOUSE_AUDIT_KEYS or the key file); the CLI never creates them. */
export function loadCliAuditKeys(settings: GatehouseSettings): AuditKeys {
  try {
    return loadAuditKeys(settings.audit, { createIfMissing: false }).keys;
  } catch (error) {
    if (error instanceof AuditKeyError) throw new CliError(error.message);
    throw error;
  }
}

/** What operator actions audit themselves with: the store and the chain key. */
export function auditWriter(settings: GatehouseSettings, db: Knex): AuditWriter {
  return { db, chainKey: loadCliAuditKeys(settings).chainKey };
}

/**
 * One audited change against the store: `change` gets the audit writer, and an error of class `refusal`
 * (the change was refused, e.g. an unknown key) becomes a one-line CliError.
 */
export async function auditedChange<T>(
  settings: GatehouseSettings,
  refusal: abstract new (...args: never[]) => Error,
  change: (writer: AuditWriter) => Promise<T>,
): Promise<T> {
  return withDatabase(settings, (db) => refusalsToCli(refusal, () => change(auditWriter(settings, db))));
}
