/**
 * A coalescing, serialized flush: the write-behind buffers (live state, device events) write on a timer, when a
 * batch fills, and on stop. At most one write runs at a time, and at most one more is queued behind it however
 * often a flush is requested, so a burst of requests costs one extra write, not one each.
 */
export class SerialFlush {
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private timer: NodeJS.Timeout | undefined;

  /** `write` must not reject: a failed batch stays pending in its buffer and is retried by the next flush. */
  constructor(private readonly write: () => Promise<void>) {}

  /** Resolves when a write that started after this call has finished. */
  request(): Promise<void> {
    if (!this.queued) {
      this.queued = true;
      this.chain = this.chain.then(() => {
        this.queued = false;
        return this.write();
      });
    }
    return this.chain;
  }

  /** Resolves once no write is running or queued (including writes queued while waiting). */
  async settled(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
  }

  /** Flushes every `intervalMs` until stop(). */
  every(intervalMs: number): void {
    this.timer = setInterval(() => void this.request(), intervalMs);
  }

  /** Stops the timer and writes what is still pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.request();
  }
}
