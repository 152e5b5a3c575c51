import { InvalidArgumentError } from 'commander';
import type { Knex } from 'knex';
import type { GatehouseSettings } from '../config/environment';
import { isUsageDimension, USAGE_DIMENSIONS, type UsageDimension } from '../store/usage-report';
import { authenticateOperator, resolveApiKey, withDatabase } from './cli-context';
import { wholeNumberIn } from './command-options';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const FORMATS = ['table', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

/** `7d`, `24h`, `30m`, `2w` before `now`, or an ISO date/time. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([mhdw])$/.exec(text.trim());
  if (relative)
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  const absolute = new Date(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(absolute.getTime())) return absolute;
  throw new InvalidArgumentError(
    'use a duration such as 7d, 24h, 30m, 2w, or an ISO date such as 2026-12-01',
  );
}

export function parseDimensions(text: string): UsageDimension[] {
  const dimensions = [
    ...new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = dimensions.filter((dimension) => !isUsageDimension(dimension));
  if (unknown.length > 0 || dimensions.length === 0) {
    throw new InvalidArgumentError(`group by one or more of ${Object.keys(USAGE_DIMENSIONS).join(', ')}`);
  }
  return dimensions as UsageDimension[];
}

/** Micro-USD as an exact decimal string (integers below 2^53 divide exactly at six places). */
export function usdText(microUsd: number): string {
  const sign = microUsd < 0 ? '-' : '';
  const absolute = Math.abs(microUsd);
  return `${sign}${Math.floor(absolute / 1_000_000)}.${String(absolute % 1_000_000).padStart(6, '0')}`;
}

/** `--tenant a,b`: the distinct tenant ids named. */
export function parseTenantIds(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
}

export function parseFormat<F extends string>(formats: readonly F[]) {
  return (value: string): F => {
    if (!(formats as readonly string[]).includes(value))
      throw new InvalidArgumentError(`one of ${formats.join(', ')}`);
    return value as F;
  };
}

export const parsePositiveInteger = wholeNumberIn(1, Number.MAX_SAFE_INTEGER, 'a whole number ≥ 1');

/** Authenticates the key (audit scope) as an admin or approver of every tenant named, then runs with the store. */
export async function asOperatorOfTenants<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string },
  run: (db: Knex, tenantIds: string[]) => Promise<T>,
): Promise<T> {
  const tenantIds = parseTenantIds(options.tenant);
  return withDatabase(settings, async (db) => {
    for (const tenantId of tenantIds) {
      await authenticateOperator(db, tenantId, resolveApiKey(settings, tenantId, options.apiKey), 'audit');
    }
    return run(db, tenantIds);
  });
}

export const TENANT_OPTION_HELP =
  'tenant id, or several separated by commas (the key must be an admin or approver of each)';
export const API_KEY_OPTION_HELP =
  'an admin or approver key of the tenants (default: GATEHOUSE_API_KEY, or the demo key)';
export const SINCE_OPTION_HELP = 'a duration back from now (7d, 24h, 30m, 2w) or an ISO date';
