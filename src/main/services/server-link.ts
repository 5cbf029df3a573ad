/**
 * The desktop's HTTP link to the companion server (ops API v1):
 * - `GET /ops/v1/vehicles` → `{ vehicles: VehicleInfo[] }`, at start and then every `refreshIntervalMs`; conditional:
 *   after a complete read it sends the list's `ETag` as `If-None-Match`, and a 304 means the list it holds is still
 *   the server's (at 20,000 cars the list is 2.3 MB of JSON, ~20 ms of parsing on the thread that carries the fleet
 *   frames); a read that skipped invalid entries keeps no tag, so the next one is whole again;
 * - `GET /ops/v1/fleet/live` → `{ vehicles: VehicleLive[] }`, once (until it succeeds), to seed cars that are
 *   parked and publish rarely, so the map is not empty for their first 10 s.
 * Every call carries the signed-in staff member's bearer token and has a timeout; failures retry with jittered
 * exponential backoff and are reported as a LinkState (signed out: `offline`, "not signed in", until kicked).
 * Responses are validated entry by entry: a bad entry is skipped, never passed on.
 */
import type { LinkState } from '../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';
import type { Logger } from '../log.js';
import { desktopRetryDelay, type BackoffOptions } from './backoff.js';
import { LinkStateTracker } from './link-state.js';
import { isVehicleInfo, isVehicleLive } from './validate.js';

export const VEHICLES_PATH = '/ops/v1/vehicles';
export const FLEET_LIVE_PATH = '/ops/v1/fleet/live';

export interface ServerLinkOptions {
  serverUrl: string;
  /** the signed-in staff member's `authorization` header; undefined = not signed in (the link waits for `kick()`) */
  authHeaders?: () => Promise<Record<string, string> | undefined>;
  /** the server refused our token (401): the session should refresh it */
  onUnauthorized?: () => void;
  /** the server's active fleet; `complete` false when invalid entries were skipped (then nothing is taken as gone) */
  onRegistry: (vehicles: VehicleInfo[], complete: boolean) => void;
  onSeed: (vehicles: VehicleLive[]) => void;
  onLinkChange?: (state: LinkState) => void;
  logger: Logger;
  /** registry refresh period after a success (default 30 000 ms) */
  refreshIntervalMs?: number;
  /** per-request timeout (default 10 000 ms) */
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** consecutive failures after which the link reports `offline` rather than `reconnecting` (default 3) */
  offlineAfterAttempts?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

class HttpError extends Error {}
const NOT_MODIFIED = Symbol('not modified');

interface ListRead<T> {
  items: T[];
  /** invalid entries skipped */
  skipped: number;
  /** the response's ETag, if it had one */
  tag: string | undefined;
}
class SignedOut extends Error {}

export class ServerLink {
  private readonly link: LinkStateTracker;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private abort: AbortController | null = null;
  private running = false;
  private seeded = false;
  private attempts = 0;
  /** the ETag of the last registry read that was complete (nothing skipped); sent as If-None-Match */
  private registryTag: string | undefined;
  private cycle: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServerLinkOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.link = new LinkStateTracker((s) => options.onLinkChange?.(s), this.now);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.link.set('connecting', { attempts: 0 });
    this.cycle = this.runCycle();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    await this.cycle;
    this.link.set('offline', { detail: 'stopped', attempts: 0 });
  }

  getLinkState(): LinkState {
    return this.link.get();
  }

  /** Try now (e.g. the operator just signed in) instead of waiting for the backoff timer. */
  kick(): void {
    if (!this.running || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.cycle = this.runCycle();
  }

  /** Whether the live seed has been applied. */
  isSeeded(): boolean {
    return this.seeded;
  }

  private async runCycle(): Promise<void> {
    if (!this.running) return;
    try {
      const registry = await this.getList(VEHICLES_PATH, isVehicleInfo, this.registryTag);
      if (!this.running) return;
      if (registry !== NOT_MODIFIED) {
        this.registryTag = registry.skipped === 0 ? registry.tag : undefined;
        this.options.onRegistry(registry.items, registry.skipped === 0);
      }
      if (!this.seeded) {
        const { items: live } = await this.getList(FLEET_LIVE_PATH, isVehicleLive);
        if (!this.running) return;
        this.options.onSeed(live);
        this.seeded = true;
        this.options.logger.info('server seed applied', {
          registry: registry === NOT_MODIFIED ? 'unchanged' : registry.items.length,
          seeded: live.length,
        });
      }
      this.attempts = 0;
      this.link.ok(this.now());
      this.link.set('connected', { attempts: 0 });
      this.scheduleNext(this.options.refreshIntervalMs ?? 30_000);
    } catch (err) {
      if (!this.running) return;
      if (err instanceof SignedOut) {
        // Nothing to retry until someone signs in (kick()); a slow timer in case the event is missed.
        this.link.set('offline', { detail: 'not signed in', attempts: 0 });
        this.scheduleNext(30_000);
        return;
      }
      this.attempts += 1;
      const detail = describe(err);
      const offlineAfter = this.options.offlineAfterAttempts ?? 3;
      this.link.set(this.attempts >= offlineAfter ? 'offline' : 'reconnecting', { detail, attempts: this.attempts });
      const delay = desktopRetryDelay(this.attempts, this.options.backoff);
      this.options.logger.warn('server link down', { detail, attempts: this.attempts, retryInMs: delay });
      this.scheduleNext(delay);
    }
  }

  private scheduleNext(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.cycle = this.runCycle();
    }, ms);
  }

  /**
   * The list's valid items, how many invalid ones were skipped and the response's ETag; NOT_MODIFIED when `ifNoneMatch`
   * was given and the server answered 304 (the list has not changed since the read that carried that tag).
   */
  private async getList<T>(path: string, isItem: (x: unknown) => x is T): Promise<ListRead<T>>;
  private async getList<T>(
    path: string,
    isItem: (x: unknown) => x is T,
    ifNoneMatch: string | undefined,
  ): Promise<ListRead<T> | typeof NOT_MODIFIED>;
  private async getList<T>(path: string, isItem: (x: unknown) => x is T, ifNoneMatch?: string): Promise<ListRead<T> | typeof NOT_MODIFIED> {
    const url = new URL(path, this.options.serverUrl).toString();
    const signals = [AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000)];
    if (this.abort) signals.push(this.abort.signal);
    const auth = this.options.authHeaders ? await this.options.authHeaders() : {};
    if (!auth) throw new SignedOut('not signed in');
    const headers: Record<string, string> = { accept: 'application/json', ...auth };
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
    const res = await this.fetchImpl(url, { headers, signal: AbortSignal.any(signals) });
    if (res.status === 401) this.options.onUnauthorized?.();
    if (res.status === 304 && ifNoneMatch !== undefined) {
      await res.body?.cancel().catch(() => {});
      return NOT_MODIFIED;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new HttpError(`GET ${path}: HTTP ${res.status}`);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new HttpError(`GET ${path}: response is not JSON`);
    }
    const list = (body as { vehicles?: unknown } | null)?.vehicles;
    if (!Array.isArray(list)) throw new HttpError(`GET ${path}: response has no "vehicles" array`);
    const valid = list.filter(isItem);
    if (valid.length !== list.length) {
      this.options.logger.warn('server sent invalid entries; skipped', { path, invalid: list.length - valid.length });
    }
    return { items: valid, skipped: list.length - valid.length, tag: res.headers.get('etag') ?? undefined };
  }
}

function describe(err: unknown): string {
  if (err instanceof HttpError) return err.message;
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'request timed out';
    // fetch wraps socket errors: "fetch failed" with the interesting part in the cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${err.message}: ${cause.code}`;
    if (cause?.message) return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}
