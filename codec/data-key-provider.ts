/** What a wrapped data key is bound to, so that a wrapped key copied to another entry fails to unwrap. */
export interface DataKeyContext {
  /** The payload key id the data key is stored under. */
  payloadKeyId: string;
}

export interface GeneratedDataKey {
  /** The 32-byte key, held in memory only. */
  plaintext: Buffer;
  /** The same key encrypted under the provider's wrapping key: the only form written to disk. */
  wrapped: Buffer;
}

/**
 * A key-management service that makes and unwraps data keys (envelope encryption), shaped after AWS
 * KMS's GenerateDataKey and Decrypt. Payload keys it makes are stored wrapped; plaintext keys exist
 * only in the memory of processes allowed to call `decryptDataKey`.
 */
export interface DataKeyProvider {
  /** The wrapping key's name (a KMS key ARN or alias), recorded beside every key it wraps. */
  readonly wrappingKeyId: string;
  generateDataKey(context: DataKeyContext): Promise<GeneratedDataKey>;
  decryptDataKey(wrapped: Buffer, context: DataKeyContext): Promise<Buffer>;
}
