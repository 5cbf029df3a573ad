/**
 * The provider's health as the desk sees it: down after a failed probe or a run of calls without any answer,
 * up again at the first answer. Only observed, never asked on a read path.
 */
import type { CallOutcome } from '../model.js';

/** consecutive unanswered calls that mark the provider down (one flaky card must not) */
const DOWN_AFTER_FAILURES = 5;

export interface ProviderHealthView {
  up: boolean;
  consecutiveFailures: number;
  lastError: string | null;
  lastAnswerAt: string | null;
  lastProbeAt: string | null;
}

export class ProviderHealth {
  private failures = 0;
  private probeFailed = false;
  private lastError: string | null = null;
  private lastAnswerAt: number | null = null;
  private lastProbeAt: number | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  get up(): boolean {
    return !this.probeFailed && this.failures < DOWN_AFTER_FAILURES;
  }

  observe(outcome: CallOutcome): void {
    if (outcome === 'ok' || outcome === 'declined' || outcome === 'rejected') {
      this.failures = 0;
      this.probeFailed = false;
      this.lastAnswerAt = this.now();
    } else if (outcome !== 'in_progress') {
      this.failures += 1;
      this.lastError = outcome;
    }
  }

  probed(error: string | null): void {
    this.lastProbeAt = this.now();
    this.probeFailed = error !== null;
    if (error) this.lastError = error;
  }

  view(): ProviderHealthView {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      up: this.up,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      lastAnswerAt: iso(this.lastAnswerAt),
      lastProbeAt: iso(this.lastProbeAt),
    };
  }
}
