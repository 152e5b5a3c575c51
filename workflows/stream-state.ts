import { setHandler } from '@temporalio/workflow';
import type { StreamView } from '../domain/request-messages';
import type { RequestProgress } from '../domain/step-contracts';
import { streamDeltaSignal, streamQuery } from './request-messages';

/**
 * The text a streaming request has delivered. Delta batches arrive as signals from the infer activity;
 * callers poll the stream query. The first attempt to deliver text owns the stream: once any of it went
 * out, nothing may replace it.
 */
export class StreamState {
  private attempt: number | undefined;
  private text = '';
  private nextSeq = 0;

  constructor(outcome: () => RequestProgress['outcome']) {
    setHandler(streamDeltaSignal, (delta) => {
      // Batches arrive in order; duplicates and batches of a later attempt are dropped.
      if (this.attempt !== undefined && delta.attempt !== this.attempt) return;
      if (delta.seq !== this.nextSeq) return;
      this.attempt = delta.attempt;
      this.text += delta.text;
      this.nextSeq += 1;
    });
    setHandler(streamQuery, (): StreamView => {
      const current = outcome();
      return {
        attempt: this.attempt,
        text: this.text,
        done: current !== 'running' && current !== 'awaiting-approval',
        outcome:
          current === 'succeeded' || current === 'failed'
            ? current
            : current === 'cancelled'
              ? 'failed'
              : 'running',
      };
    });
  }

  /** Whether text of this attempt reached the workflow, and so possibly the caller. */
  delivered(attempt: number): boolean {
    return this.attempt === attempt && this.text.length > 0;
  }
}
