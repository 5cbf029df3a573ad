/**
 * Which new alerts reach the operator as a desktop notification, and how many notifications that makes:
 * - only alerts that are new to this desk: not those in the first result after the replica opened, nor any opened
 *   before the desk started (pulled later by the initial sync), with `skewMs` of slack for the server's clock;
 * - only open alerts of kinds that notify (crash, tamper, movement, zone exit, … — src/shared/alert-kinds.ts), not
 *   of kinds the operator muted (checked again when the notification goes out);
 * - coalesced: a notification goes out once no new alert came for `windowMs` (at most `maxWaitMs` after the first),
 *   and after one went out the next waits `minGapMs` — a storm of 100 alerts, even spread over several syncs,
 *   makes one summary ("100 new alerts on 97 cars"), not 100 notifications.
 */
import { ALERT_KIND_INFO, alertKindLabel, alertNotifies, isAlertKind } from '../../../../shared/alert-kinds.js';
import type { DesktopNotice } from '../../../../shared/desktop-api.js';
import type { AlertDoc } from '../../../../shared/sync-protocol.js';

export type NoticeAlert = Pick<AlertDoc, 'id' | 'vehicleId' | 'kind' | 'severity' | 'status' | 'openedAt'>;

export interface AlertNotifierOptions {
  show(notice: DesktopNotice): void;
  plateOf(vehicleId: string): string;
  isMuted(kind: string): boolean;
  /** when this desk started watching (epoch ms) */
  startedAt: number;
  windowMs?: number;
  maxWaitMs?: number;
  minGapMs?: number;
  skewMs?: number;
  now?: () => number;
  setTimer?: (cb: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export const NOTICE_TAG = 'fleetdesk-alerts';

export class AlertNotifier {
  private readonly known = new Set<string>();
  private seeded = false;
  private pending: NoticeAlert[] = [];
  private timer: unknown;
  private firstPendingAt = 0;
  private lastShownAt = -Infinity;
  private readonly o: Required<AlertNotifierOptions>;

  constructor(options: AlertNotifierOptions) {
    this.o = {
      windowMs: 1_500,
      maxWaitMs: 6_000,
      minGapMs: 10_000,
      skewMs: 30_000,
      now: Date.now,
      setTimer: (cb, ms) => setTimeout(cb, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  /** Every live result of the watched alerts (open ones); the first only tells what already existed. */
  update(alerts: readonly NoticeAlert[]): void {
    if (!this.seeded) {
      this.seeded = true;
      for (const a of alerts) this.known.add(a.id);
      return;
    }
    const before = this.pending.length;
    for (const a of alerts) {
      if (this.known.has(a.id)) continue;
      this.known.add(a.id);
      if (a.status !== 'open' || a.openedAt < this.o.startedAt - this.o.skewMs) continue;
      if (!alertNotifies(a.kind, a.severity) || this.o.isMuted(a.kind)) continue;
      this.pending.push(a);
    }
    if (this.pending.length === before) return;
    const now = this.o.now();
    if (before === 0) this.firstPendingAt = now;
    // quiet for windowMs (but not past maxWaitMs after the first), and never sooner than minGapMs after the last
    const at = Math.max(Math.min(now + this.o.windowMs, this.firstPendingAt + this.o.maxWaitMs), this.lastShownAt + this.o.minGapMs);
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = this.o.setTimer(() => this.flush(), Math.max(0, at - now));
  }

  /** Sends what is pending now as one notification (the timer does this; tests call it). */
  flush(): void {
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = undefined;
    const alerts = this.pending.filter((a) => !this.o.isMuted(a.kind));
    this.pending = [];
    if (alerts.length === 0) return;
    this.lastShownAt = this.o.now();
    this.o.show(noticeFor(alerts, this.o.plateOf));
  }

  dispose(): void {
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = undefined;
    this.pending = [];
  }
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** One alert: its kind and plate; several: how many, by kind — clicking selects the newest one's car. */
export function noticeFor(alerts: readonly NoticeAlert[], plateOf: (vehicleId: string) => string): DesktopNotice {
  const newest = alerts.reduce((a, b) => (b.openedAt > a.openedAt ? b : a));
  if (alerts.length === 1) {
    const severity = newest.severity === 'critical' ? 'Critical alert' : 'Alert';
    return {
      title: `${alertKindLabel(newest.kind)} — ${plateOf(newest.vehicleId)}`,
      body: `${severity} at ${clock(newest.openedAt)}. Click to show the car.`,
      tag: NOTICE_TAG,
      target: { vehicleId: newest.vehicleId, alertId: newest.id },
    };
  }
  const byKind = new Map<string, number>();
  for (const a of alerts) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
  const parts = [...byKind].sort((a, b) => b[1] - a[1] || rank(a[0]) - rank(b[0])).map(([kind, n]) => `${alertKindLabel(kind)} ×${n}`);
  const cars = new Set(alerts.map((a) => a.vehicleId)).size;
  return {
    title: `${alerts.length} new alerts on ${cars} ${cars === 1 ? 'car' : 'cars'}`,
    body: `${parts.join(' · ')}. Click to open the alert queue.`.slice(0, 1000),
    tag: NOTICE_TAG,
    target: { vehicleId: newest.vehicleId, alertId: newest.id, openAlerts: true },
  };
}

const KIND_ORDER = Object.keys(ALERT_KIND_INFO);
const rank = (kind: string) => (isAlertKind(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length);
