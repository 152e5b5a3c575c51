import type { AuditEvent } from '../domain/audit-event';
import {
  AUDIT_HASH_VERSIONS,
  canonicalAuditEvent,
  GENESIS_HASH,
  hashEvent,
  keyedHashEvent,
  type AuditChainKey,
} from './audit-chain';
import { canonicalJson } from './canonical-json';

/** A hash the chain had at `seq`, as something outside the database saw it. */
export interface AuditAnchor {
  seq: number;
  hash: string;
  /** Who saw it, for the report: a signed checkpoint, or a request's own history. */
  source: string;
  /** The request whose record produced this head, when the witness is its history. */
  workflowId?: string;
}

export type AuditChainVerification =
  | { ok: true; checked: number; headSeq: number; anchorsChecked: number }
  | {
      ok: false;
      checked: number;
      firstBadSeq: number;
      /** The request of the first bad event, when it (or a witness of it) is known. */
      firstBadWorkflowId?: string;
      reason: string;
    };

export interface VerifyAuditEventsInput {
  /** The stored events of one tenant in seq order, with `payloadText` as stored when it is known. */
  events: ReadonlyArray<AuditEvent & { payloadText?: string }>;
  /**
   * Where the stored chain starts: genesis, or the last event retention removed — which only counts when
   * an anchor (a signed checkpoint) witnessed exactly that sequence number and hash.
   */
  start?: { seq: number; hash: string };
  /** The database's head row, when there is one to compare. */
  head?: { seq: number; hash: string };
  chainKeyById: (id: string) => AuditChainKey | undefined;
  anchors?: readonly AuditAnchor[];
}

type Failure = Extract<AuditChainVerification, { ok: false }>;

/**
 * Walks a tenant's chain and checks it against every anchor. Reports the first sequence number at which
 * the stored rows stop being the chain that was appended: an edited row (hash mismatch), a deleted row
 * (gap), rows reordered or inserted (prev_hash or hash mismatch), a head that disagrees with the last
 * row, an unkeyed row after keyed ones (a downgrade), or a chain that ends before — or differs from —
 * what a checkpoint or a request's history witnessed.
 */
export function verifyAuditEvents(input: VerifyAuditEventsInput): AuditChainVerification {
  const start = input.start ?? { seq: 0, hash: GENESIS_HASH };
  let expectedSeq = start.seq + 1;
  let prevHash = start.hash;
  let keyed = false;
  let checked = 0;
  let walkFailure: Failure | undefined;
  const hashAt = new Map<number, { hash: string; workflowId: string }>();
  for (const event of input.events) {
    const failure = checkAuditEvent(event, expectedSeq, prevHash, keyed, input.chainKeyById);
    if (failure !== undefined) {
      walkFailure = { ok: false, checked, ...failure };
      break;
    }
    hashAt.set(event.seq, { hash: event.hash, workflowId: event.workflowId });
    keyed ||= event.hashVersion === AUDIT_HASH_VERSIONS.hmacSha256;
    checked += 1;
    prevHash = event.hash;
    expectedSeq += 1;
  }
  const lastSeq = expectedSeq - 1;
  if (walkFailure === undefined && input.head !== undefined)
    walkFailure = checkHead(input.head, lastSeq, prevHash, checked);

  const anchorFailure = firstAnchorFailure(input.anchors ?? [], start, hashAt, lastSeq, checked, walkFailure);
  const failure =
    anchorFailure !== undefined &&
    (walkFailure === undefined || anchorFailure.firstBadSeq < walkFailure.firstBadSeq)
      ? anchorFailure
      : walkFailure;
  const unanchored =
    start.seq > 0 &&
    !(input.anchors ?? []).some((anchor) => anchor.seq === start.seq && anchor.hash === start.hash);
  if (unanchored) {
    return {
      ok: false,
      checked,
      firstBadSeq: 1,
      reason: `the chain starts after #${start.seq} (retention), but no signed checkpoint witnessed that start: events 1…${start.seq} were removed without one`,
    };
  }
  if (failure !== undefined) {
    const workflowId =
      failure.firstBadWorkflowId ??
      input.events.find((event) => event.seq === failure.firstBadSeq)?.workflowId;
    return workflowId === undefined ? failure : { ...failure, firstBadWorkflowId: workflowId };
  }
  return { ok: true, checked, headSeq: lastSeq, anchorsChecked: (input.anchors ?? []).length };
}

/**
 * One event against the chain: its seq, its link to the hash before it, its payload as stored, and its
 * hash recomputed (HMAC with the key it names, or plain SHA-256 before any keyed event). `keyed` says
 * whether a keyed event came before it, which makes an unkeyed one a downgrade. Undefined when it holds.
 */
export function checkAuditEvent(
  event: AuditEvent & { payloadText?: string },
  expectedSeq: number,
  prevHash: string,
  keyed: boolean,
  chainKeyById: (id: string) => AuditChainKey | undefined,
): { firstBadSeq: number; reason: string } | undefined {
  const seq = event.seq;
  if (seq !== expectedSeq) {
    return { firstBadSeq: expectedSeq, reason: `seq ${expectedSeq} is missing (next stored seq is ${seq})` };
  }
  if (event.prevHash !== prevHash) {
    return {
      firstBadSeq: seq,
      reason: `prev_hash of seq ${seq} does not match the hash of the event before it`,
    };
  }
  if (event.payloadText !== undefined && canonicalJson(event.payload) !== event.payloadText) {
    return {
      firstBadSeq: seq,
      reason: `payload of seq ${seq} is not in canonical form: the event was altered`,
    };
  }
  const canonical = canonicalAuditEvent(event);
  let expected: string;
  if (event.hashVersion === AUDIT_HASH_VERSIONS.unkeyedSha256) {
    if (keyed) {
      return {
        firstBadSeq: seq,
        reason: `seq ${seq} carries an unkeyed hash after keyed ones: the event was rewritten without the audit key`,
      };
    }
    expected = hashEvent(prevHash, canonical);
  } else if (event.hashVersion === AUDIT_HASH_VERSIONS.hmacSha256) {
    const key = event.hashKeyId === null ? undefined : chainKeyById(event.hashKeyId);
    if (key === undefined) {
      return {
        firstBadSeq: seq,
        reason: `seq ${seq} names audit key '${event.hashKeyId ?? ''}', which this verifier does not hold`,
      };
    }
    expected = keyedHashEvent(key, prevHash, canonical);
  } else {
    return { firstBadSeq: seq, reason: `seq ${seq} has unknown hash version ${event.hashVersion}` };
  }
  if (expected !== event.hash) {
    return {
      firstBadSeq: seq,
      reason: `hash of seq ${seq} does not match its content: the event was altered`,
    };
  }
  return undefined;
}

function checkHead(
  head: { seq: number; hash: string },
  lastSeq: number,
  lastHash: string,
  checked: number,
): Failure | undefined {
  if (head.seq !== lastSeq) {
    return {
      ok: false,
      checked,
      firstBadSeq: Math.min(head.seq, lastSeq) + 1,
      reason:
        head.seq > lastSeq
          ? `head is at seq ${head.seq} but the last stored event is seq ${lastSeq}: events were removed`
          : `events past the head (seq ${head.seq}) were added without going through the chain`,
    };
  }
  if (head.hash !== lastHash) {
    return {
      ok: false,
      checked,
      firstBadSeq: Math.max(lastSeq, 1),
      reason: 'head hash does not match the last event',
    };
  }
  return undefined;
}

/**
 * The earliest anchor the stored chain contradicts. An anchor past the end means the tail was removed
 * (and the head moved back); an anchor whose hash differs means the events up to it were rewritten by
 * someone holding the chain key — the first event no agreeing anchor covers is where it may start.
 */
function firstAnchorFailure(
  anchors: readonly AuditAnchor[],
  start: { seq: number; hash: string },
  hashAt: ReadonlyMap<number, { hash: string; workflowId: string }>,
  lastSeq: number,
  checked: number,
  walkFailure: Failure | undefined,
): Failure | undefined {
  const sorted = [...anchors].sort((a, b) => a.seq - b.seq);
  let agreedUpTo = start.seq;
  for (const anchor of sorted) {
    if (anchor.seq < start.seq || anchor.seq === 0) continue;
    if (walkFailure !== undefined && anchor.seq >= walkFailure.firstBadSeq) break;
    if (anchor.seq === start.seq) {
      if (anchor.hash !== start.hash) {
        return {
          ok: false,
          checked,
          firstBadSeq: start.seq + 1,
          reason: `the chain's starting point #${start.seq} differs from what ${anchor.source} witnessed`,
        };
      }
      continue;
    }
    if (anchor.seq > lastSeq) {
      return {
        ok: false,
        checked,
        firstBadSeq: lastSeq + 1,
        ...(anchor.workflowId === undefined ? {} : { firstBadWorkflowId: anchor.workflowId }),
        reason: `${anchor.source} witnessed the chain at seq ${anchor.seq}, but it ends at seq ${lastSeq}: events were removed from the end and the head moved back`,
      };
    }
    const stored = hashAt.get(anchor.seq);
    if (stored === undefined || stored.hash !== anchor.hash) {
      return {
        ok: false,
        checked,
        firstBadSeq: agreedUpTo + 1,
        reason: `the stored chain at seq ${anchor.seq} differs from what ${anchor.source} witnessed: events after seq ${agreedUpTo} were rewritten and re-hashed`,
      };
    }
    agreedUpTo = anchor.seq;
  }
  return undefined;
}
