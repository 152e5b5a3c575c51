import { fingerprintedFields, type FingerprintedRequest } from '../domain/request-contract';
import { canonicalJson } from './canonical-json';
import { sha256Hex } from './sha256';

/**
 * SHA-256 of a request's canonical fields. Stored in the workflow input and bound by the caller's proof,
 * it is how a resubmitted request id is told apart from a different request under the same id.
 */
export function requestFingerprint(request: FingerprintedRequest): string {
  return sha256Hex(canonicalJson(fingerprintedFields(request)));
}
