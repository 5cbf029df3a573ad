/**
 * Dispatch: publishes queued commands to vehicles that are online, resends `sent` and `received` commands
 * whose outcome has not arrived (devices dedupe by commandId and answer a repeat with their latest result, so
 * a result lost while the server was disconnected is recovered), and expires open commands past their expiry.
 *
 * Everything is driven by the database, so a restarted instance (or another instance) picks up where the last
 * one stopped: a tick every `tickMs` expires what is overdue and dispatches what is due; `vehicle.online`
 * events and new commands take the fast path. Claims are guarded UPDATEs, so two instances never both move a
 * command; at worst both publish it, which devices absorb (dedupe by commandId).
 *
 * The server never publishes a command at or after its expiry: the claim requires `expires_at > now + margin`
 * and the clock is checked again right before the publish. MQTT publishes never wait in a client-side queue
 * for a reconnect (MqttConnection.publish rejects while disconnected).
 */
import {
  deviceTopic,
  decodeDeviceCommand,
  DEVICE_PROTOCOL_VERSION,
  type DeviceCommand,
} from '../../../../../src/shared/device-protocol.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import { SYSTEM_ACTOR } from '../../../platform/http/actor.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import type { CommandsRepository } from '../data/commands.repository.js';
import type { CommandRecord } from '../model.js';
import { resendDelayMs } from './command-lifecycle.js';
import type { CommandsObserver, CommandTransitions } from './command-transitions.js';

export interface DispatcherTimings {
  /** how often the database is checked for overdue and due commands */
  tickMs: number;
  /** first resend of an unacknowledged command after this; doubles per attempt up to maxResendMs */
  resendMs: number;
  maxResendMs: number;
  /** no publish later than this before the expiry (transit time, device clock skew) */
  publishMarginMs: number;
  /** a `received` command expires this long after its expiry if no result came (the device accepted it in time) */
  resultGraceMs: number;
  /** how often the online view is re-read from the fleet component (catches what other instances ingested) */
  onlineRefreshMs: number;
  /** longest wait for the broker's PUBACK (we stop waiting; the resend timer covers a lost publish) */
  publishTimeoutMs: number;
}

export interface DispatcherDeps {
  repo: CommandsRepository;
  transitions: CommandTransitions;
  events: DomainEvents;
  observer: CommandsObserver;
  log: Logger;
  broker: { isReady(): boolean; publish(topic: string, payload: string): Promise<void> };
  /** the fleet component's current online view */
  onlineVehicleIds(): Promise<string[]>;
  now: () => number;
}

const BATCH = 500;
/** vehicles per query when many come online together (a fleet reconnecting after a broker restart) */
const ONLINE_BATCH = 1000;

export class CommandDispatcher {
  /** vehicle id → online, and when this instance learnt it (events win over an older refresh) */
  private readonly online = new Map<string, { online: boolean; at: number }>();
  /** command ids this instance is dispatching right now (one publish at a time per command) */
  private readonly busy = new Set<string>();
  private readonly work = new Set<Promise<unknown>>();
  private tickTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private ticking = false;
  private stopped = false;
  /** vehicles that came online and whose open commands are still to be looked up (coalesced, see below) */
  private readonly cameOnline = new Set<string>();
  private cameOnlineScheduled = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly timings: DispatcherTimings,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.deps.events.on('vehicle.online', (e) => {
      this.online.set(e.vehicleId, { online: e.online, at: this.deps.now() });
      if (e.online) this.vehicleCameOnline(e.vehicleId);
    });
    await this.refreshOnline();
    this.tickTimer = setInterval(() => this.track(this.tick()), this.timings.tickMs);
    this.refreshTimer = setInterval(
      () =>
        this.track(this.refreshOnline().catch((err: unknown) => this.deps.log.warn('refreshing the online view failed', errorFields(err)))),
      this.timings.onlineRefreshMs,
    );
    this.track(this.tick()); // resume at once after a restart: expire what is overdue, send what is due
  }

  /** Stops timers and listeners and waits for running work (the database closes after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearInterval(this.refreshTimer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.work]);
  }

  isOnline(vehicleId: string): boolean {
    return this.online.get(vehicleId)?.online === true;
  }

  /** A command was just issued: send it now if its vehicle is online (else it waits, queued). */
  commandIssued(command: CommandRecord): void {
    if (this.isOnline(command.vehicleId)) this.track(this.dispatchOne(command, false));
  }

  /** Runs one tick now and waits for it (tests). */
  async tickNow(): Promise<void> {
    await this.tick();
  }

  private track<T>(promise: Promise<T>): void {
    if (this.stopped) return;
    const p = promise.catch((err: unknown) => this.deps.log.error('command dispatch failed', errorFields(err)));
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  private async refreshOnline(): Promise<void> {
    const started = this.deps.now();
    const ids = new Set(await this.deps.onlineVehicleIds());
    for (const [id, state] of this.online) {
      if (state.at < started && !ids.has(id)) this.online.set(id, { online: false, at: started });
    }
    for (const id of ids) {
      const state = this.online.get(id);
      if (!state || state.at < started) this.online.set(id, { online: true, at: started });
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await this.expireOverdue();
      if (!this.deps.broker.isReady()) return;
      const at = this.deps.now();
      // only online vehicles' commands: queued ones for offline cars must not crowd the batch out
      const online = [...this.online].filter(([, s]) => s.online).map(([id]) => id);
      if (online.length === 0) return;
      const due = await this.deps.repo.listDispatchable({
        at,
        expiresAfter: at + this.timings.publishMarginMs,
        vehicleIds: online,
        limit: BATCH,
      });
      for (const command of due) {
        if (this.stopped) return;
        if (this.isOnline(command.vehicleId)) await this.dispatchOne(command, false);
      }
    } finally {
      this.ticking = false;
    }
  }

  /**
   * The vehicle came online: send its queued commands and resend its unfinished ones now. Coalesced: when a
   * whole fleet reconnects at once (20,000 `vehicle.online` events after a broker restart) one query per
   * ONLINE_BATCH vehicles runs, not one per vehicle — a query per event exhausted the connection pool and
   * starved every other request.
   */
  private vehicleCameOnline(vehicleId: string): void {
    this.cameOnline.add(vehicleId);
    if (this.cameOnlineScheduled) return;
    this.cameOnlineScheduled = true;
    setImmediate(() => this.track(this.dispatchCameOnline()));
  }

  private async dispatchCameOnline(): Promise<void> {
    try {
      while (this.cameOnline.size > 0 && !this.stopped) {
        const vehicleIds = [...this.cameOnline].slice(0, ONLINE_BATCH);
        for (const id of vehicleIds) this.cameOnline.delete(id);
        const at = this.deps.now();
        const open = await this.deps.repo.listDispatchable({
          at,
          expiresAfter: at + this.timings.publishMarginMs,
          vehicleIds,
          allSent: true,
          limit: BATCH,
        });
        for (const command of open) await this.dispatchOne(command, true);
      }
    } finally {
      this.cameOnlineScheduled = false;
      // events that arrived after the loop's last check get their own run
      if (this.cameOnline.size > 0 && !this.stopped) this.vehicleCameOnline([...this.cameOnline][0]!);
    }
  }

  private async dispatchOne(command: CommandRecord, forceResend: boolean): Promise<void> {
    if (this.stopped || this.busy.has(command.commandId)) return;
    this.busy.add(command.commandId);
    try {
      if (!this.deps.broker.isReady() || !this.isOnline(command.vehicleId)) return;
      const at = this.deps.now();
      const expiresAfter = at + this.timings.publishMarginMs;
      if (command.expiresAt <= expiresAfter) return; // the sweep expires it
      let claimed: CommandRecord | null;
      if (command.status === 'queued') {
        claimed = await this.deps.transitions.apply({
          commandId: command.commandId,
          to: 'sent',
          from: ['queued'],
          at,
          expiresAfter,
          nextAttemptAt: at + resendDelayMs(this.timings.resendMs, 1, this.timings.maxResendMs),
          actor: SYSTEM_ACTOR,
          detail: 'published to the vehicle',
        });
      } else if (command.status === 'sent' || command.status === 'received') {
        const nextAttemptAt = at + resendDelayMs(this.timings.resendMs, command.sendAttempts + 1, this.timings.maxResendMs);
        claimed = await this.deps.repo.claimResend(command.commandId, at, expiresAfter, nextAttemptAt, forceResend);
      } else {
        return;
      }
      if (claimed) await this.publish(claimed, command.status === 'queued' ? 'first' : 'resend');
    } finally {
      this.busy.delete(command.commandId);
    }
  }

  private async publish(command: CommandRecord, kind: 'first' | 'resend'): Promise<void> {
    const message: DeviceCommand = {
      v: DEVICE_PROTOCOL_VERSION,
      commandId: command.commandId,
      type: command.type,
      issuedAt: command.createdAt,
      expiresAt: command.expiresAt,
      params: command.params,
    };
    const payload = JSON.stringify(message);
    const valid = decodeDeviceCommand(payload);
    if (!valid.ok) {
      // Cannot happen for commands that passed issue validation; never send a device something it must drop.
      this.deps.log.error('refusing to publish an invalid command', {
        commandId: command.commandId,
        reason: valid.reason,
        detail: valid.detail,
      });
      return;
    }
    // Last check, right before the publish: the claim may have waited on a lock or a slow database.
    const now = this.deps.now();
    if (now >= command.expiresAt - this.timings.publishMarginMs) {
      this.deps.log.info('command not published: too close to its expiry', { commandId: command.commandId });
      return;
    }
    try {
      await withTimeout(this.deps.broker.publish(deviceTopic(command.vehicleId, 'commands'), payload), this.timings.publishTimeoutMs);
      this.deps.observer.published(kind, kind === 'first' ? now - command.createdAt : undefined);
    } catch (err) {
      // Stays `sent`: the resend timer publishes it again while it has not expired.
      this.deps.log.warn('command publish failed; will resend', { commandId: command.commandId, ...errorFields(err) });
    }
  }

  private async expireOverdue(): Promise<void> {
    const at = this.deps.now();
    const overdue = await this.deps.repo.listOverdue(at, this.timings.resultGraceMs, BATCH);
    for (const { commandId, status } of overdue) {
      if (this.stopped) return;
      await this.deps.transitions.apply({
        commandId,
        to: 'expired',
        from: [status], // exactly the state seen: a `sent` one that just became `received` gets its grace period
        at,
        actor: SYSTEM_ACTOR,
        detail: EXPIRY_DETAIL[status as keyof typeof EXPIRY_DETAIL],
        lastResultReason: EXPIRY_DETAIL[status as keyof typeof EXPIRY_DETAIL],
      });
    }
  }
}

const EXPIRY_DETAIL = {
  queued: 'expired before it could be sent (vehicle offline)',
  sent: 'expired: the vehicle never acknowledged it',
  received: 'expired: the vehicle acknowledged it but sent no result',
} as const;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
