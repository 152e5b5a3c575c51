import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  parseStoredCheckpoint,
  type AuditCheckpointSink,
  type SignedAuditCheckpoint,
} from './audit-checkpoint';
import { sha256Hex } from './sha256';

export interface S3AuditCheckpointLocation {
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
}

/** `s3://bucket/some/prefix` → bucket and a prefix ending in '/'. */
export function parseS3CheckpointUrl(url: string): S3AuditCheckpointLocation {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!match) {
    throw new Error(
      `GATEHOUSE_AUDIT_CHECKPOINT_S3=${url}: expected s3://<bucket>[/<prefix>] with a valid bucket name`,
    );
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: match[1]!, prefix: prefix === '' ? '' : `${prefix}/` };
}

/** One object per checkpoint: `<prefix><tenant>/<seq, 12 digits>-<signature digest>.json`. */
function objectKey(location: S3AuditCheckpointLocation, checkpoint: SignedAuditCheckpoint): string {
  const seq = String(checkpoint.seq).padStart(12, '0');
  return `${location.prefix}${encodeURIComponent(checkpoint.tenantId)}/${seq}-${sha256Hex(checkpoint.signature).slice(0, 16)}.json`;
}

/**
 * Checkpoints as write-once objects in an S3 bucket (or any S3-compatible store): each is put with
 * `If-None-Match: *`, so an existing checkpoint is never overwritten through this sink. Give the bucket
 * Object Lock (compliance mode) or a policy that denies deletes to the database's administrators, and
 * the anchor is outside their reach.
 */
export function createS3AuditCheckpointSink(
  location: S3AuditCheckpointLocation,
  options: { client?: S3Client; clientConfig?: S3ClientConfig } = {},
): AuditCheckpointSink {
  // Temporal retries the activity that writes checkpoints; the SDK does not retry on its own.
  const client = options.client ?? new S3Client({ maxAttempts: 1, ...options.clientConfig });
  return {
    description: `s3://${location.bucket}/${location.prefix}`,
    async append(checkpoints) {
      for (const checkpoint of checkpoints) {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: location.bucket,
              Key: objectKey(location, checkpoint),
              Body: JSON.stringify(checkpoint),
              ContentType: 'application/json',
              IfNoneMatch: '*',
            }),
          );
        } catch (error) {
          // The same checkpoint written again (a retried activity) is already there: that is success.
          if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) {
            throw error;
          }
        }
      }
    },
    async read(tenantId) {
      const checkpoints: SignedAuditCheckpoint[] = [];
      let unreadable = 0;
      let continuationToken: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: location.bucket,
            Prefix: `${location.prefix}${encodeURIComponent(tenantId)}/`,
            ContinuationToken: continuationToken,
          }),
        );
        for (const object of page.Contents ?? []) {
          const body = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: object.Key }));
          const text = (await body.Body?.transformToString('utf8')) ?? '';
          const checkpoint = parseStoredCheckpoint(text);
          // Under the tenant's prefix, a checkpoint of another tenant is as wrong as one that does not parse.
          if (checkpoint === undefined || checkpoint.tenantId !== tenantId) unreadable += 1;
          else checkpoints.push(checkpoint);
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken !== undefined);
      checkpoints.sort((a, b) => a.seq - b.seq);
      return { checkpoints, unreadable };
    },
  };
}
