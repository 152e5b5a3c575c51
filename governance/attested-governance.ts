import type { Knex } from 'knex';
import { listLinkedAuditEvents, latestAuditSeq, type LinkedAuditRow } from '../store/audit-chain-links';
import { decidingLabels, type ResolvedPromptAsStored } from '../store/prompt-repository';
import { GENESIS_HASH, type AuditChainKey } from './audit-chain';
import {
  apiKeyContentHash,
  foldGovernanceEvents,
  GOVERNANCE_ITEMS,
  governanceChangesOf,
  governanceWorkflowId,
  policyContentHash,
  principalContentHash,
  promptContentHash,
  promptLabelContentHash,
  type AuditedGovernanceItems,
} from './governance-attestation';
import { checkAuditEvent } from './verify-audit-chain';

/**
 * The request path's side of governance attestation (docs/decisions/0028): before a request is served, the
 * configuration rows it relies on must hash to what the tenant's audit chain last attested for them, read
 * from `governance.changed` events whose HMACs and links are checked with the chain key. A tenant with no
 * `governance.changed` event is not checked, as `audit verify` does not check it.
 */

type ChainKeyById = (id: string) => AuditChainKey | undefined;

/** What the chain attests for a tenant, as of its newest governance event. */
interface AttestedGovernance {
  /** The newest governance event's seq (0: none) — the cache key. */
  seq: number;
  chainKeyById: ChainKeyById;
  items: AuditedGovernanceItems;
  /** The newest policy version the chain attests and has not seen removed. */
  latestPolicyVersion?: number;
  /** Why the governance events themselves cannot be trusted; every request of the tenant is refused. */
  broken?: string;
}

/** Per store and tenant; rebuilt whenever the tenant's governance chain has a new newest event. */
const attestedByStore = new WeakMap<Knex, Map<string, AttestedGovernance>>();

async function attestedGovernance(
  db: Knex,
  tenantId: string,
  chainKeyById: ChainKeyById,
): Promise<AttestedGovernance> {
  const workflowId = governanceWorkflowId(tenantId);
  const seq = await latestAuditSeq(db, tenantId, workflowId);
  let tenants = attestedByStore.get(db);
  if (tenants === undefined) {
    tenants = new Map();
    attestedByStore.set(db, tenants);
  }
  const cached = tenants.get(tenantId);
  if (cached !== undefined && cached.seq === seq && cached.chainKeyById === chainKeyById) return cached;
  const attested =
    seq === 0
      ? { seq, chainKeyById, items: new Map() }
      : readAttestedGovernance(seq, chainKeyById, await listLinkedAuditEvents(db, tenantId, workflowId));
  tenants.set(tenantId, attested);
  return attested;
}

/** Checks every governance event and both its links, then folds them; the first broken one is named. */
function readAttestedGovernance(
  seq: number,
  chainKeyById: ChainKeyById,
  rows: readonly LinkedAuditRow[],
): AttestedGovernance {
  for (const row of rows) {
    const problem = linkProblem(row, chainKeyById);
    if (problem !== undefined) {
      const claimed = governanceChangesOf(row.event.payload).map((change) => change.item);
      const what =
        claimed.length === 0
          ? ''
          : ` (recording ${claimed.slice(0, 3).join(', ')}${claimed.length > 3 ? ', …' : ''})`;
      return {
        seq,
        chainKeyById,
        items: new Map(),
        broken: `the governance.changed event #${row.event.seq}${what} fails the audit chain check: ${problem}`,
      };
    }
  }
  const folded = foldGovernanceEvents(rows.map((row) => row.event));
  let latestPolicyVersion: number | undefined;
  for (const [item, { contentHash }] of folded.items) {
    const version = /^policy@(\d+)$/.exec(item)?.[1];
    if (version !== undefined && contentHash !== null) {
      latestPolicyVersion = Math.max(latestPolicyVersion ?? 0, Number(version));
    }
  }
  return {
    seq,
    chainKeyById,
    items: folded.items,
    ...(latestPolicyVersion === undefined ? {} : { latestPolicyVersion }),
  };
}

/**
 * The event's own check (payload, keyed hash, link to the hash before it) as `audit verify` makes it, and
 * the link from the event after it, so an event removed from the middle of the chain is noticed too.
 * Governance events must be keyed: an unkeyed one could have been written without the chain key.
 */
function linkProblem(row: LinkedAuditRow, chainKeyById: ChainKeyById): string | undefined {
  const { event } = row;
  const before =
    row.hashBefore ??
    (event.seq === 1
      ? GENESIS_HASH
      : row.retentionStart?.seq === event.seq - 1
        ? row.retentionStart.hash
        : undefined);
  if (before === undefined) return `the event before it (#${event.seq - 1}) is missing`;
  const failure = checkAuditEvent(event, event.seq, before, true, chainKeyById);
  if (failure !== undefined) return failure.reason;
  if (row.prevHashAfter !== undefined && row.prevHashAfter !== event.hash) {
    return `the event after it (#${event.seq + 1}) does not link to it`;
  }
  return undefined;
}

/** One configuration item a request relies on, with its stored content hash (null: no such row). */
interface UsedItem {
  item: string;
  contentHash: string | null;
}

/** The first item whose stored hash is not the one the chain attests, as a sentence naming it. */
function firstUnattested(attested: AttestedGovernance, used: readonly UsedItem[]): string | undefined {
  for (const { item, contentHash } of used) {
    const known = attested.items.get(item);
    if (contentHash === null) {
      if (known !== undefined && known.contentHash !== null) {
        return `${item} was deleted outside Gatehouse: governance.changed #${known.seq} records it`;
      }
      continue;
    }
    if (known === undefined) {
      return `${item} was added outside Gatehouse: no governance.changed event records it`;
    }
    if (known.contentHash === null) {
      return `${item} was restored outside Gatehouse: governance.changed #${known.seq} records it as removed`;
    }
    if (known.contentHash !== contentHash) {
      return `${item} was changed outside Gatehouse: its content does not match what governance.changed #${known.seq} records`;
    }
  }
  return undefined;
}

/** Whether the tenant's configuration is checked at all, and the refusal for what a request uses. */
async function refusalFor(
  db: Knex,
  tenantId: string,
  chainKeyById: ChainKeyById,
  used: readonly UsedItem[],
  extra?: (attested: AttestedGovernance) => string | undefined,
): Promise<string | undefined> {
  const attested = await attestedGovernance(db, tenantId, chainKeyById);
  if (attested.seq === 0) return undefined;
  if (attested.broken !== undefined) return attested.broken;
  return firstUnattested(attested, used) ?? extra?.(attested);
}

/**
 * The api-key items a request's other keys stand for, and the attested keys that are no longer stored
 * (docs/decisions/0029): an unbound key naming a feature is judged by every key of the tenant.
 */
function keySetItems(rows: readonly Readonly<Record<string, unknown>>[]): UsedItem[] {
  return rows.map((row) => ({
    item: GOVERNANCE_ITEMS.apiKey(String(row['key_id'])),
    contentHash: apiKeyContentHash(row as Record<string, unknown>),
  }));
}

function deletedKey(attested: AttestedGovernance, stored: readonly UsedItem[]): string | undefined {
  const items = new Set(stored.map(({ item }) => item));
  const keyItem = GOVERNANCE_ITEMS.apiKey('');
  for (const [item, known] of attested.items) {
    if (item.startsWith(keyItem) && known.contentHash !== null && !items.has(item)) {
      return `${item} was deleted outside Gatehouse: governance.changed #${known.seq} records it`;
    }
  }
  return undefined;
}

/** The rows a request was authorized with, exactly as read (a missing row: absent). */
export interface AuthorizationRows {
  tenantId: string;
  principalId: string;
  keyId: string;
  principal?: Readonly<Record<string, unknown>>;
  /** The `api_keys` row of the key id; none for a principal's own key. */
  key?: Readonly<Record<string, unknown>>;
  /** The policy version decided on and its stored document text (absent: no such row). */
  policy?: { version: number; documentText?: string };
  /**
   * Every key of the tenant, when other keys' bindings decide the request (an unbound key naming a
   * feature): a binding edited, a key added or an attested key deleted in the store is refused too.
   */
  tenantKeys?: readonly Readonly<Record<string, unknown>>[];
}

/**
 * Why the rows a request was authorized with are not what the tenant's chain attests (undefined when they
 * are, or when the tenant has never attested its configuration). The rows hashed are the rows the
 * decision read, so an edit between a read and a check cannot slip through.
 */
export async function unattestedAuthorization(
  db: Knex,
  chainKeyById: ChainKeyById,
  rows: AuthorizationRows,
): Promise<string | undefined> {
  const used: UsedItem[] = [
    {
      item: GOVERNANCE_ITEMS.principal(rows.principalId),
      contentHash:
        rows.principal === undefined ? null : principalContentHash(rows.principal as Record<string, unknown>),
    },
    {
      item: GOVERNANCE_ITEMS.apiKey(rows.keyId),
      contentHash: rows.key === undefined ? null : apiKeyContentHash(rows.key as Record<string, unknown>),
    },
  ];
  const { policy } = rows;
  if (policy !== undefined) {
    used.push({
      item: GOVERNANCE_ITEMS.policy(policy.version),
      contentHash: policy.documentText === undefined ? null : policyContentHash(policy.documentText),
    });
  }
  const tenantKeys = rows.tenantKeys === undefined ? undefined : keySetItems(rows.tenantKeys);
  return refusalFor(
    db,
    rows.tenantId,
    chainKeyById,
    tenantKeys === undefined ? used : [...used, ...tenantKeys],
    (attested) =>
      (policy !== undefined &&
      attested.latestPolicyVersion !== undefined &&
      policy.version < attested.latestPolicyVersion
        ? `${GOVERNANCE_ITEMS.policy(attested.latestPolicyVersion)} was deleted outside Gatehouse: the tenant's newest stored policy is version ${policy.version}`
        : undefined) ?? (tenantKeys === undefined ? undefined : deletedKey(attested, tenantKeys)),
  );
}

/**
 * Why the prompt version a request resolved, and the label rows that chose it, are not what the tenant's
 * chain attests; undefined when they are, or when the tenant has never attested its configuration. The
 * rows hashed are the rows `resolvePromptAsStored` decided on.
 */
export async function unattestedPrompt(
  db: Knex,
  chainKeyById: ChainKeyById,
  input: { tenantId: string; resolved: ResolvedPromptAsStored },
): Promise<string | undefined> {
  const { prompt, template, labels: labelRows } = input.resolved;
  const used: UsedItem[] = [
    {
      item: GOVERNANCE_ITEMS.prompt(prompt.name, prompt.version),
      contentHash: promptContentHash(template as unknown as Parameters<typeof promptContentHash>[0]),
    },
    ...(prompt.label === undefined ? [] : decidingLabels(prompt.label)).map((label) => {
      const row = labelRows.find((candidate) => candidate['label'] === label);
      return {
        item: GOVERNANCE_ITEMS.promptLabel(prompt.name, label),
        contentHash:
          row === undefined
            ? null
            : promptLabelContentHash(row as unknown as Parameters<typeof promptLabelContentHash>[0]),
      };
    }),
  ];
  return refusalFor(db, input.tenantId, chainKeyById, used);
}
