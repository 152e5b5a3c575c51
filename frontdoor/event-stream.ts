import type { FastifyReply } from 'fastify';

/** An open server-sent event stream (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface EventStream {
  /** Aborted when the client goes away: stop producing, the request itself runs on. */
  readonly signal: AbortSignal;
  send(data: unknown, event?: string): void;
  /** Writes raw `data: …` (OpenAI's `[DONE]`). */
  sendRaw(data: string): void;
  end(): void;
}

/** Proxies close idle connections; a comment line every so often keeps a long wait open. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Takes the response over from Fastify and opens an event stream on it. Headers go out at once, so the
 * caller sees the response start before the first text exists.
 */
export function openEventStream(reply: FastifyReply, headers: Record<string, string> = {}): EventStream {
  reply.hijack();
  const raw = reply.raw;
  const controller = new AbortController();
  raw.on('close', () => controller.abort());
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Nginx and similar proxies buffer responses unless told not to.
    'x-accel-buffering': 'no',
    ...headers,
  });
  raw.flushHeaders();
  const keepAlive = setInterval(() => {
    if (!raw.writableEnded) raw.write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  keepAlive.unref();
  controller.signal.addEventListener('abort', () => clearInterval(keepAlive));
  const write = (text: string) => {
    if (!raw.writableEnded && !controller.signal.aborted) raw.write(text);
  };
  return {
    signal: controller.signal,
    send(data, event) {
      write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    sendRaw(data) {
      write(`data: ${data}\n\n`);
    },
    end() {
      clearInterval(keepAlive);
      if (!raw.writableEnded) raw.end();
    },
  };
}
