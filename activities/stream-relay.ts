import type { StreamDelta } from '../domain/request-messages';

/** Delivers delta batches to whoever is waiting for a request's stream (a signal to its workflow). */
export interface StreamPublisher {
  publish(workflowId: string, delta: StreamDelta): Promise<void>;
}

/**
 * Batches a provider's text deltas and publishes them in order, at most one batch in flight, so a fast
 * model does not turn every token into a history event. `delivered` counts batches that went out: once
 * it is above zero the caller has seen text and the attempt can no longer be replaced.
 */
export class StreamRelay {
  private pending = '';
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  delivered = 0;
  firstDeltaAt: number | undefined;

  constructor(
    private readonly publisher: StreamPublisher,
    private readonly workflowId: string,
    private readonly attempt: number,
    private readonly flushEveryMs = 40,
  ) {}

  push(text: string): void {
    if (text.length === 0) return;
    this.firstDeltaAt ??= performance.now();
    this.pending += text;
    this.timer ??= setTimeout(() => this.flush(), this.flushEveryMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const delta: StreamDelta = { attempt: this.attempt, seq: this.seq, text: this.pending };
    this.seq += 1;
    this.pending = '';
    this.chain = this.chain.then(async () => {
      try {
        await this.publisher.publish(this.workflowId, delta);
        this.delivered += 1;
      } catch (error) {
        this.failure ??= error;
      }
    });
  }

  /** Publishes what is left and waits for every batch; rethrows the first publishing failure. */
  async close(): Promise<void> {
    this.flush();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}
