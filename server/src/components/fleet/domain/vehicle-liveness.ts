/**
 * Is a car alive, and is what we know of it fresh? Normally: heard from within the heartbeat timeout. But while
 * this instance's broker link is down it hears no car at all — that is the broker's outage, not the cars': the
 * time the link was down (and a grace after it came back, for the cars to publish again) does not count as a car's
 * silence. So a broker outage turns no car offline and raises no offline alert; the cars keep their last-known
 * state, marked stale with its age, and the ones seen recently enough (`maxStalenessMs`) stay offered to customers.
 *
 * One outage is remembered (the current or the last one); a link that drops again within the grace extends it.
 */

export interface VehicleLivenessOptions {
  heartbeatTimeoutMs: number;
  /** after the link is back, how long before silence counts again (BROKER_RECONNECT_GRACE_S) */
  reconnectGraceMs: number;
  /** while the server cannot hear the cars, a last-known state at most this old stays listed (BROKER_OUTAGE_MAX_STALENESS_S) */
  maxStalenessMs: number;
}

/** What the other components may ask (bookings: availability and claims; the live view). */
export interface VehicleLivenessView {
  /** A car last heard at `receivedAt` counts as alive at `now` (not offline; outages excused). */
  isAlive(receivedAt: number, now: number): boolean;
  /** Alive, and its last-known state young enough to offer the car to a customer. */
  isListable(receivedAt: number, now: number): boolean;
  /** The earliest receive time that is listable at `now`: isListable(receivedAt, now) ⇔ receivedAt ≥ listableSince(now). */
  listableSince(now: number): number;
  /** The state's age when the server cannot vouch for it (link down, not heard since it came back, or silent beyond the timeout while excused); undefined when fresh. */
  staleAgeMs(receivedAt: number, now: number): number | undefined;
  /** since when the broker link is down (epoch ms); null while it is up */
  brokerDownSince(): number | null;
}

interface Outage {
  from: number;
  /** when the link was back; null while down */
  to: number | null;
}

export class VehicleLiveness implements VehicleLivenessView {
  private outage: Outage | undefined;

  constructor(private readonly o: VehicleLivenessOptions) {}

  brokerLost(at: number): void {
    const o = this.outage;
    // a drop within the grace after the last outage continues it (flapping must not restart the cars' clocks)
    if (o && (o.to === null || at <= o.to + this.o.reconnectGraceMs)) o.to = null;
    else this.outage = { from: at, to: null };
  }

  brokerBack(at: number): void {
    if (this.outage && this.outage.to === null) this.outage.to = at;
  }

  brokerDownSince(): number | null {
    return this.outage && this.outage.to === null ? this.outage.from : null;
  }

  /**
   * The receive time before which a car counts as silent beyond its heartbeat timeout at `now`: the timeout
   * measured back from `now` over the time the link was usable only.
   */
  cutoff(now: number): number {
    const hb = this.o.heartbeatTimeoutMs;
    const o = this.outage;
    if (!o || now <= o.from) return now - hb;
    const blindEnd = o.to === null ? Infinity : o.to + this.o.reconnectGraceMs;
    if (now < blindEnd) return o.from - hb;
    const heardFor = now - blindEnd;
    return heardFor >= hb ? now - hb : o.from - (hb - heardFor);
  }

  isAlive(receivedAt: number, now: number): boolean {
    return receivedAt >= this.cutoff(now);
  }

  isListable(receivedAt: number, now: number): boolean {
    return receivedAt >= this.listableSince(now);
  }

  listableSince(now: number): number {
    // alive (heard since the cutoff), and not older than the staleness bound (or the timeout, if that is longer)
    return Math.max(this.cutoff(now), now - Math.max(this.o.heartbeatTimeoutMs, this.o.maxStalenessMs));
  }

  staleAgeMs(receivedAt: number, now: number): number | undefined {
    const age = Math.max(0, now - receivedAt);
    if (age > this.o.heartbeatTimeoutMs) return age;
    const o = this.outage;
    if (!o) return undefined;
    if (o.to === null) return age;
    // back, but this car not heard from since: within the grace it is still the outage's old news
    return now < o.to + this.o.reconnectGraceMs && receivedAt < o.to ? age : undefined;
  }
}
