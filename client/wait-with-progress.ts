/** How often progress is redrawn on a terminal, and how often a line is written to a log instead. */
const TTY_REFRESH_MS = 250;
const LOG_REFRESH_MS = 5_000;

function pause(ms: number): Promise<void> {
  // Unreferenced: a pending redraw must not keep the process alive once the work is done.
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Waits for `result` while drawing progress on `stream`: a redrawn bar on a terminal, else a line now
 * and then. `progressLine` reads progress (a workflow query); while it fails (no worker answers yet)
 * waiting goes on. `finalLine` draws the finished result.
 */
export async function waitWithProgress<T>(options: {
  result: Promise<T>;
  progressLine: () => Promise<string>;
  finalLine: (result: T) => string;
  stream: NodeJS.WriteStream;
}): Promise<T> {
  const { stream } = options;
  // The bar is drawn on stderr, so it is stderr being a terminal that makes `\r` redraws readable.
  const interactive = stream.isTTY === true;
  let done = false;
  const result = options.result.finally(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([result.catch(() => undefined), pause(interactive ? TTY_REFRESH_MS : LOG_REFRESH_MS)]);
    if (done) break;
    try {
      const line = await options.progressLine();
      stream.write(interactive ? `\r${line}` : `${line}\n`);
    } catch {
      // A query needs a worker; while none answers, keep waiting for the result.
    }
  }
  const final = await result;
  stream.write(`${interactive ? '\r' : ''}${options.finalLine(final)}\n`);
  return final;
}
