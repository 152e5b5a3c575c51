import type { Client } from '@temporalio/client';
import type { StreamPublisher } from '../activities/stream-relay';
import { REQUEST_MESSAGE_NAMES } from '../domain/request-messages';

/** Streams reach callers through the request's own workflow: each delta batch is a signal to it. */
export function createSignalStreamPublisher(client: Client): StreamPublisher {
  return {
    async publish(workflowId, delta) {
      await client.workflow.getHandle(workflowId).signal(REQUEST_MESSAGE_NAMES.streamDeltaSignal, delta);
    },
  };
}
