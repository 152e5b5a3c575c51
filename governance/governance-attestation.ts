import type { Knex } from 'knex';
import { AUDIT_EVENT_TYPES, type AuditEvent } from '../domain/audit-event';
import { appendOperatorEvent, listAuditEvents, type AuditWriter } from '../store/audit-repository';
import { toIsoTimestamp } from '../store/knex-client';
import { canonicalJson } from './canonical-json';
import { sha256Hex } from './sha256';

/**
 * Policy versions, prompt versions and labels, principals (their own key, roles, clearance) and the API
 * keys made for them (scopes, expiry, revocation, feature binding) in the audit chain. Every change made through Gatehouse's code ends with `attestGovernanceChanges`: one
 * `governance.changed` event naming the author and the content hash of each item that changed. Once a
 * tenant has such an event, `audit verify` compares the tables with the chain, so a policy version, a
 * prompt, a label or an API key inserted, edited or deleted by SQL is reported — writing the event that
 * would cover it needs the chain key, which is not in the database.
 */

/** The audit trail's home for a tenant's configuration changes (they belong to no request). */
export function governanceWorkflowId(tenantId: string): string {
  return `governance/${tenantId}`;
}
const GOVERNANCE_RUN_ID = 'configuration';

export interface GovernanceChange {
  /**
   * `policy@3`, `prompt:qa@2`, `prompt-label:qa:production`, `principal:demo-analyst`, `api-key:<key id>`,
   * `budget-limit:faq:daily:usd:hard`, `rate-limit`.
   */
  item: string;
  /** SHA-256 of the item's canonical content; null when the item was removed. */
  contentHash: string | null;
}

/**
 * Who made a change through an authenticated command: the principal of the API key it presented, and
 * that key. `bootstrap` marks the tenant's first governance key, made without a key; `note` is free text
 * the person added, recorded as a note and never as the author.
 */
export interface GovernanceActor {
  principalId: string;
  keyId: string;
  bootstrap?: boolean;
  note?: string;
}

interface GovernanceChangedPayload {
  /** The key's principal; for changes made by deployment code (seeding), the name of that code. */
  author: string;
  authorKeyId?: string;
  bootstrap?: true;
  note?: string;
  changes: GovernanceChange[];
}

/** The author fields of the event: a system name as is, an actor as its principal, key, bootstrap and note. */
function authorFields(author: string | GovernanceActor): Omit<GovernanceChangedPayload, 'changes'> {
  if (typeof author === 'string') return { author };
  return {
    author: author.principalId,
    authorKeyId: author.keyId,
    ...(author.bootstrap === true ? { bootstrap: true as const } : {}),
    ...(author.note === undefined || author.note === '' ? {} : { note: author.note }),
  };
}

/** The content hash the chain records for a policy version (its stored canonical JSON). */
export function policyContentHash(storedDocument: string): string {
  return sha256Hex(canonicalJson({ document: storedDocument }));
}

/**
 * The content hash of a prompt version: its templates, and its variables' description when it has one
 * (versions without one hash as they did before descriptions existed).
 */
export function promptContentHash(row: {
  system_template: string;
  user_template: string;
  variables_schema?: string | null;
}): string {
  const variables = row.variables_schema == null ? {} : { variables: row.variables_schema };
  return sha256Hex(canonicalJson({ system: row.system_template, user: row.user_template, ...variables }));
}

/** The names of configuration items in `governance.changed` events. */
export const GOVERNANCE_ITEMS = {
  policy: (version: number) => `policy@${version}`,
  prompt: (name: string, version: number) => `prompt:${name}@${version}`,
  promptLabel: (name: string, label: string) => `prompt-label:${name}:${label}`,
  principal: (id: string) => `principal:${id}`,
  apiKey: (keyId: string) => `api-key:${keyId}`,
} as const;

const hashOf = (value: unknown) => sha256Hex(canonicalJson(value));

/** The content hash of a prompt label row (a label without a canary share hashes as before shares existed). */
export function promptLabelContentHash(row: {
  version: number | string;
  canary_percent?: number | string | null;
}): string {
  const share = row.canary_percent == null ? {} : { canaryPercent: Number(row.canary_percent) };
  return hashOf({ version: Number(row.version), ...share });
}

/** The content hash of a principals row: its name, own key, capabilities, groups, clearance, role, status. */
export function principalContentHash(row: Record<string, unknown>): string {
  return hashOf({
    name: row.name,
    apiKeyHash: row.api_key_hash,
    capabilities: row.capabilities,
    groups: row.groups,
    clearance: row.clearance,
    role: row.role,
    status: row.status,
  });
}

/**
 * The content hash of an api_keys row: its principal, key, scopes, expiry, revocation, successor and
 * feature binding (an unbound key hashes as keys did before bindings existed).
 */
export function apiKeyContentHash(row: Record<string, unknown>): string {
  const time = (value: unknown) => (value == null ? null : toIsoTimestamp(value));
  const binding = row.features == null ? {} : { features: row.features };
  return hashOf({
    principalId: row.principal_id,
    keyHash: row.key_hash,
    scopes: row.scopes,
    expiresAt: time(row.expires_at),
    revokedAt: time(row.revoked_at),
    replacedBy: row.replaced_by ?? null,
    ...binding,
  });
}

/** The tenant's configuration as it is stored now: item → content hash. */
export async function currentGovernanceItems(db: Knex, tenantId: string): Promise<Map<string, string>> {
  const items = new Map<string, string>();
  const policies = (await db('policies').where({ tenant_id: tenantId })) as Array<{
    version: number | string;
    document: string;
  }>;
  for (const row of policies) {
    items.set(GOVERNANCE_ITEMS.policy(Number(row.version)), policyContentHash(row.document));
  }
  const prompts = (await db('prompt_templates').where({ tenant_id: tenantId })) as Array<{
    name: string;
    version: number | string;
    system_template: string;
    user_template: string;
    variables_schema?: string | null;
  }>;
  for (const row of prompts) {
    items.set(GOVERNANCE_ITEMS.prompt(row.name, Number(row.version)), promptContentHash(row));
  }
  const labels = (await db('prompt_labels').where({ tenant_id: tenantId })) as Array<{
    name: string;
    label: string;
    version: number | string;
    canary_percent?: number | string | null;
  }>;
  for (const row of labels) {
    items.set(GOVERNANCE_ITEMS.promptLabel(row.name, row.label), promptLabelContentHash(row));
  }
  const principals = (await db('principals').where({ tenant_id: tenantId })) as Array<
    Record<string, unknown>
  >;
  for (const row of principals)
    items.set(GOVERNANCE_ITEMS.principal(String(row.id)), principalContentHash(row));
  const keys = (await db('api_keys').where({ tenant_id: tenantId })) as Array<Record<string, unknown>>;
  for (const row of keys) items.set(GOVERNANCE_ITEMS.apiKey(String(row.key_id)), apiKeyContentHash(row));
  const limits = (await db('budget_limits').where({ tenant_id: tenantId })) as Array<Record<string, unknown>>;
  for (const row of limits) {
    items.set(
      `budget-limit:${String(row.feature) || '*'}:${String(row.budget_window)}:${String(row.unit)}:${String(row.kind)}`,
      hashOf({
        limit: Number(row.limit_value),
        approvalOverride: row.approval_override === true || Number(row.approval_override) === 1,
      }),
    );
  }
  const rate = (await db('tenant_rate_limits').where({ tenant_id: tenantId }).first()) as
    { requests_per_minute: number | string | null; tokens_per_minute: number | string | null } | undefined;
  if (rate !== undefined) {
    const optional = (value: number | string | null) => (value === null ? null : Number(value));
    items.set(
      'rate-limit',
      hashOf({
        requestsPerMinute: optional(rate.requests_per_minute),
        tokensPerMinute: optional(rate.tokens_per_minute),
      }),
    );
  }
  return items;
}

/** An item's latest audited hash (null: removed) and the event that recorded it. */
export type AuditedGovernanceItems = Map<string, { contentHash: string | null; seq: number }>;

/** Folds `governance.changed` events (in seq order) into each item's latest audited hash. */
export function foldGovernanceEvents(
  events: ReadonlyArray<Pick<AuditEvent, 'seq' | 'eventType' | 'payload'>>,
): { items: AuditedGovernanceItems; events: number; lastSeq: number } {
  const items: AuditedGovernanceItems = new Map();
  let count = 0;
  let lastSeq = 0;
  for (const event of events) {
    if (event.eventType !== AUDIT_EVENT_TYPES.governanceChanged) continue;
    count += 1;
    lastSeq = event.seq;
    for (const change of governanceChangesOf(event.payload)) {
      items.set(change.item, { contentHash: change.contentHash, seq: event.seq });
    }
  }
  return { items, events: count, lastSeq };
}

/** The changes a `governance.changed` payload lists. */
export function governanceChangesOf(payload: unknown): GovernanceChange[] {
  return (payload as Partial<GovernanceChangedPayload> | null)?.changes ?? [];
}

/** What the chain says the configuration is: the latest audited hash of every item (null: removed). */
async function auditedGovernanceItems(
  db: Knex,
  tenantId: string,
): Promise<{ items: AuditedGovernanceItems; events: number; lastSeq: number }> {
  return foldGovernanceEvents(
    await listAuditEvents(db, { tenantId, workflowId: governanceWorkflowId(tenantId) }),
  );
}

function differences(
  current: Map<string, string>,
  audited: Map<string, { contentHash: string | null }>,
): GovernanceChange[] {
  const changes: GovernanceChange[] = [];
  for (const [item, contentHash] of current) {
    if (audited.get(item)?.contentHash !== contentHash) changes.push({ item, contentHash });
  }
  for (const [item, { contentHash }] of audited) {
    if (contentHash !== null && !current.has(item)) changes.push({ item, contentHash: null });
  }
  return changes.sort((a, b) => a.item.localeCompare(b.item));
}

/**
 * Records, as one audit event by `author`, every configuration item of the tenant that differs from what
 * the chain last recorded. Returns the changes (none: nothing was appended). `author` is a
 * `GovernanceActor` for changes made with an API key, or the name of the deployment code that made
 * them (e.g. the demo seed).
 */
export async function attestGovernanceChanges(
  writer: AuditWriter,
  tenantId: string,
  author: string | GovernanceActor,
): Promise<GovernanceChange[]> {
  const [current, audited] = await Promise.all([
    currentGovernanceItems(writer.db, tenantId),
    auditedGovernanceItems(writer.db, tenantId),
  ]);
  const changes = differences(current, audited.items);
  if (changes.length === 0) return [];
  const payload: GovernanceChangedPayload = { ...authorFields(author), changes };
  await appendOperatorEvent(writer.db, writer.chainKey, {
    tenantId,
    workflowId: governanceWorkflowId(tenantId),
    runId: GOVERNANCE_RUN_ID,
    eventType: AUDIT_EVENT_TYPES.governanceChanged,
    payload,
  });
  return changes;
}

/** Who recorded an item's latest state, when, and with which hash: what `policy history` shows. */
export interface GovernanceAttribution {
  author: string;
  /** The API key the author presented (absent for changes made by deployment code). */
  authorKeyId?: string;
  bootstrap?: true;
  note?: string;
  at: string;
  seq: number;
  contentHash: string | null;
}

/** For each configuration item, the `governance.changed` event that last recorded it. */
export async function governanceAttributions(
  db: Knex,
  tenantId: string,
): Promise<Map<string, GovernanceAttribution>> {
  const events = await listAuditEvents(db, { tenantId, workflowId: governanceWorkflowId(tenantId) });
  const attributions = new Map<string, GovernanceAttribution>();
  for (const event of events) {
    if (event.eventType !== AUDIT_EVENT_TYPES.governanceChanged) continue;
    const payload = event.payload as GovernanceChangedPayload;
    for (const change of payload.changes ?? []) {
      attributions.set(change.item, {
        author: payload.author,
        ...(payload.authorKeyId === undefined ? {} : { authorKeyId: payload.authorKeyId }),
        ...(payload.bootstrap === true ? { bootstrap: true as const } : {}),
        ...(payload.note === undefined ? {} : { note: payload.note }),
        at: event.createdAt,
        seq: event.seq,
        contentHash: change.contentHash,
      });
    }
  }
  return attributions;
}

export type GovernanceVerification =
  | { ok: true; itemsChecked: number }
  | { ok: false; itemsChecked: number; firstBadSeq: number; reason: string };

/**
 * The configuration tables against the chain (call it once the chain itself verifies). A tenant with no
 * `governance.changed` event yet (a store from before configuration joined the chain) is not checked.
 */
export async function verifyGovernanceAgainstAudit(
  db: Knex,
  tenantId: string,
): Promise<GovernanceVerification> {
  const audited = await auditedGovernanceItems(db, tenantId);
  if (audited.events === 0) return { ok: true, itemsChecked: 0 };
  const current = await currentGovernanceItems(db, tenantId);
  const changes = differences(current, audited.items);
  const first = changes[0];
  if (first === undefined) return { ok: true, itemsChecked: current.size };
  const known = audited.items.get(first.item);
  const what =
    first.contentHash === null
      ? 'was deleted'
      : known === undefined || known.contentHash === null
        ? 'was added'
        : 'was changed';
  const others = changes.length > 1 ? ` (and ${changes.length - 1} more item(s))` : '';
  return {
    ok: false,
    itemsChecked: current.size,
    // An item the chain never heard of is measured against the last configuration it recorded.
    firstBadSeq: known?.seq ?? audited.lastSeq,
    reason: `${first.item} ${what} outside Gatehouse: no governance.changed event records it${others}`,
  };
}
