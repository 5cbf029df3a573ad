/**
 * Draining a write-behind buffer at shutdown. A fixed total deadline (the old "5 s, then give up") loses work
 * exactly when the buffers are fullest — under load, while the database is busy but healthy. Instead the drain
 * goes on for as long as writes succeed, and gives up only after `stallMs` WITHOUT a successful write (the
 * database is down or stuck): then what is left is returned, for the caller to count and log.
 */
export interface DrainTarget {
  /** items still waiting to be written */
  pending(): number;
  /** a monotonic count of items written so far (progress is any increase) */
  written(): number;
  /** one write attempt of what is pending; must not reject (a failed write leaves the items pending) */
  writeOnce(): Promise<void>;
}

export interface DrainOptions {
  /** give up after this long without a successful write */
  stallMs: number;
  /** first pause after an attempt that wrote nothing (doubles up to maxRetryMs) */
  retryMs?: number;
  maxRetryMs?: number;
  now?: () => number;
}

/** Writes until nothing is pending or the database made no progress for `stallMs`; returns what is left. */
export async function drainUntilStalled(target: DrainTarget, options: DrainOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const retryMs = options.retryMs ?? 50;
  const maxRetryMs = options.maxRetryMs ?? 1_000;
  let written = target.written();
  let progressAt = now();
  let pause = retryMs;
  while (target.pending() > 0) {
    await target.writeOnce();
    const after = target.written();
    if (after !== written) {
      written = after;
      progressAt = now();
      pause = retryMs;
      continue;
    }
    if (target.pending() === 0) break;
    const stalledFor = now() - progressAt;
    if (stalledFor >= options.stallMs) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, options.stallMs - stalledFor)));
    pause = Math.min(pause * 2, maxRetryMs);
  }
  return target.pending();
}
