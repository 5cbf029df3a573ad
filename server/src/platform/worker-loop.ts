/**
 * The loop of a background worker over a database queue (licence checks, the payments outbox): a pass on a timer
 * and whenever kicked, never two at once, and a kick during a pass runs exactly one more pass after it however many
 * kicks arrived — the coalescing of SerialFlush. A pass that returns true found work and goes again at once.
 */
import { SerialFlush } from './serial-flush.js';

export class WorkerLoop {
  private readonly flush: SerialFlush;
  private timer: NodeJS.Timeout | undefined;
  private halted = false;

  /** `onError` gets what a pass threw; the next kick or tick runs a new pass. */
  constructor(pass: () => Promise<boolean | void>, onError: (err: unknown) => void) {
    this.flush = new SerialFlush(async () => {
      if (this.halted) return;
      try {
        if ((await pass()) === true) void this.flush.request();
      } catch (err) {
        onError(err);
      }
    });
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** Passes every `intervalMs` (the timer does not keep the process alive) and one now. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs a pass now, or once more after the running one. */
  kick(): void {
    if (this.halted) return;
    void this.flush.request();
  }

  /** Runs passes until one finds nothing left to do (tests). */
  async drain(): Promise<void> {
    await this.flush.settled();
    this.kick();
    await this.flush.settled();
  }

  /** No pass starts any more; resolves when the running one has ended. */
  stop(): Promise<void> {
    this.halted = true;
    clearInterval(this.timer);
    return this.flush.settled();
  }
}
