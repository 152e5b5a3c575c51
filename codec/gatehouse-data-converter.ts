import type { DataConverter } from '@temporalio/common';
import { PayloadEncryptionCodec } from './payload-encryption-codec';
import type { PayloadKeyring } from './payload-keyring';

/**
 * The module Temporal loads (in the workflow bundle too) as the failure converter. Bundles built
 * ahead of time must be given it as `failureConverterPath`, or workflow failures stay plain text.
 */
export const ENCRYPTED_FAILURE_CONVERTER_PATH = require.resolve('./encrypted-failure-converter');

/**
 * The one data converter every Gatehouse client and worker uses: payloads encrypted with the keyring's
 * active key, failure messages and stack traces encoded so that they are encrypted too.
 */
export function createGatehouseDataConverter(keyring: PayloadKeyring): DataConverter {
  return {
    payloadCodecs: [new PayloadEncryptionCodec(keyring)],
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
  };
}
