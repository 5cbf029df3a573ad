/**
 * GBFS public vehicle ids, rotated after every rental (GBFS 3.0: "vehicle_id … MUST be rotated to a random string
 * after each trip" — so nobody can stitch trips together from consecutive feed snapshots).
 *
 * public id = HMAC-SHA256(secret, vehicle id + rotation), base64url, 128 bits. The rotation counter of each
 * vehicle is in the database and bumped on `rental.ended`; every instance keeps a copy in memory, updated by
 * NOTIFY (and a full re-read every minute, in case a notification was lost), so all instances publish the same id.
 */
import { createHmac } from 'node:crypto';
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { ROTATION_CHANNEL, type FeedsRepository } from '../data/feeds.repository.js';

const RELOAD_MS = 60_000;
const RETRY_DELAYS_MS = [500, 2_000, 5_000, 15_000];

export class VehicleIdRotation {
  private readonly rotations = new Map<string, number>();
  /** public id per vehicle for its current rotation: computed once per rotation, not per feed request */
  private readonly ids = new Map<string, { rotation: number; id: string }>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private reloadTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;
  /** changes whenever any vehicle's rotation changes (cache key for the vehicle_status document) */
  version = 0;

  constructor(
    private readonly repo: FeedsRepository,
    private readonly secret: string,
    private readonly log: Logger,
  ) {}

  async start(db: Db): Promise<void> {
    this.unlisten = await db.listen(ROTATION_CHANNEL, (vehicleId) => this.track(this.reloadOne(vehicleId)));
    await this.reloadAll();
    this.reloadTimer = setInterval(() => this.track(this.reloadAll()), RELOAD_MS);
    this.reloadTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reloadTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.unlisten?.().catch(() => undefined);
    await this.settled();
  }

  publicId(vehicleId: string): string {
    const rotation = this.rotations.get(vehicleId) ?? 0;
    const cached = this.ids.get(vehicleId);
    if (cached?.rotation === rotation) return cached.id;
    const id = createHmac('sha256', this.secret).update(`${vehicleId}\n${rotation}`).digest('base64url').slice(0, 22);
    this.ids.set(vehicleId, { rotation, id });
    return id;
  }

  /** `rental.ended` handler: synchronous for the event bus; the write (with retries) runs in the background. */
  rentalEnded(vehicleId: string, rentalId: string): void {
    this.track(this.bump(vehicleId, rentalId, 0));
  }

  /** Resolves when every write and re-read started so far is done (tests, stop). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async bump(vehicleId: string, rentalId: string, attempt: number): Promise<void> {
    try {
      this.apply(vehicleId, await this.repo.bumpRotation(vehicleId, rentalId));
    } catch (err) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined || this.stopped) {
        // The vehicle keeps its public id for one more trip: a privacy lapse worth an error line.
        this.log.error('GBFS vehicle id not rotated after a rental', { vehicleId, rentalId, ...errorFields(err) });
        return;
      }
      this.log.warn('GBFS vehicle id rotation failed; retrying', { vehicleId, attempt: attempt + 1, ...errorFields(err) });
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, delay);
        t.unref();
        this.timers.add(t);
      });
      if (!this.stopped) await this.bump(vehicleId, rentalId, attempt + 1);
    }
  }

  private async reloadOne(vehicleId: string): Promise<void> {
    this.apply(vehicleId, await this.repo.rotation(vehicleId));
  }

  private async reloadAll(): Promise<void> {
    for (const [vehicleId, rotation] of await this.repo.rotations()) this.apply(vehicleId, rotation);
  }

  /** Counters only grow: a late re-read never takes a vehicle back to an id it already left. */
  private apply(vehicleId: string, rotation: number): void {
    if (rotation <= (this.rotations.get(vehicleId) ?? 0)) return;
    this.rotations.set(vehicleId, rotation);
    this.version++;
  }

  private track(p: Promise<void>): void {
    const tracked = p
      .catch((err: unknown) => this.log.warn('reading GBFS vehicle id rotations failed', errorFields(err)))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
