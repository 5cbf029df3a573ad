/**
 * A small holder for one integration's `LinkState` that notifies only on meaningful changes (status, detail,
 * attempts) — not on every `lastOkAt` bump, which happens per message.
 */
import type { LinkState, LinkStatus } from '../../shared/desktop-api.js';

export class LinkStateTracker {
  private state: LinkState;

  constructor(
    private readonly onChange: (state: LinkState) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.state = { status: 'offline', since: now(), attempts: 0, detail: 'not started' };
  }

  get(): LinkState {
    return { ...this.state };
  }

  set(status: LinkStatus, fields: { detail?: string; attempts?: number } = {}): void {
    const attempts = fields.attempts ?? this.state.attempts;
    const detail = fields.detail;
    const prev = this.state;
    if (prev.status === status && prev.detail === detail && prev.attempts === attempts) return;
    const next: LinkState = {
      status,
      since: prev.status === status ? prev.since : this.now(),
      attempts,
    };
    if (detail !== undefined) next.detail = detail;
    if (prev.lastOkAt !== undefined) next.lastOkAt = prev.lastOkAt;
    this.state = next;
    this.onChange(this.get());
  }

  /** Records a successful message / call without notifying. */
  ok(at: number = this.now()): void {
    this.state.lastOkAt = at;
  }
}
