/**
 * The vehicle registry: who exists. Keeps the set of known ids in memory because ingestion asks "is this a
 * vehicle of ours?" for every message; refreshed from the database so writes by other instances show up.
 */
import type { VehicleInfo } from '../../../../../src/shared/fleet.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import type { VehiclesRepository } from '../data/vehicles.repository.js';

export class VehicleRegistry {
  private known = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repo: VehiclesRepository,
    private readonly log: Logger,
  ) {}

  async start(refreshIntervalMs: number): Promise<void> {
    await this.refresh();
    this.refreshTimer = setInterval(() => {
      this.refresh().catch((err: unknown) =>
        this.log.warn('vehicle registry refresh failed; keeping the previous id set', errorFields(err)),
      );
    }, refreshIntervalMs);
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  has(vehicleId: string): boolean {
    return this.known.has(vehicleId);
  }

  get size(): number {
    return this.known.size;
  }

  async refresh(): Promise<void> {
    const ids = await this.repo.listIds();
    this.known = new Set(ids);
  }

  /** Ids registered by this instance a moment ago (an admin's registration): accepted at once. */
  add(ids: readonly string[]): void {
    for (const id of ids) this.known.add(id);
  }

  /** A retired vehicle: its messages are no longer accepted (other instances follow at their next refresh). */
  remove(id: string): void {
    this.known.delete(id);
  }

  /** Upserts by id; the ids are accepted by ingestion as soon as this resolves. */
  async register(vehicles: readonly VehicleInfo[]): Promise<number> {
    const changed = await this.repo.upsert(vehicles);
    for (const v of vehicles) this.known.add(v.id);
    return changed;
  }

  list(): Promise<VehicleInfo[]> {
    return this.repo.list();
  }

  /** Changes exactly when `list()`'s answer does (see VehiclesRepository.listTag). */
  listTag(): Promise<string> {
    return this.repo.listTag();
  }
}
