import type { AuditSettings } from '../config/environment';
import type { AuditCheckpointSink } from './audit-checkpoint';
import { createFileAuditCheckpointSink } from './file-audit-checkpoint-sink';
import { createS3AuditCheckpointSink, parseS3CheckpointUrl } from './s3-audit-checkpoint-sink';

/** The configured checkpoint sink: S3 (or an S3-compatible store) when GATEHOUSE_AUDIT_CHECKPOINT_S3 is set, else the file. */
export function createAuditCheckpointSink(settings: AuditSettings): AuditCheckpointSink {
  const s3 = settings.checkpointS3;
  if (s3 === undefined) return createFileAuditCheckpointSink(settings.checkpointFile);
  return createS3AuditCheckpointSink(parseS3CheckpointUrl(s3.url), {
    clientConfig: {
      region: s3.region,
      // S3-compatible stores (MinIO and the like) are addressed by path, not by bucket host name.
      ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint, forcePathStyle: true }),
    },
  });
}
