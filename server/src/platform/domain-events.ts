/**
 * In-process domain events: how one component learns what another did without importing its internals
 * (ingestion → alerts, fleet status → command dispatch, …). Synchronous and cheap, because telemetry arrives at
 * tens of thousands of messages per second: a handler must not block; anything slow (database writes) it queues
 * itself. A throwing handler is logged and counted by the bus, never breaks the emitter or other handlers.
 *
 * Events of one instance only: what several server instances must share goes through the database
 * (LISTEN/NOTIFY) or MQTT, not through this bus.
 */
import type { CommandType, DeviceEvent } from '../../../src/shared/device-protocol.js';
import type { VehicleLive } from '../../../src/shared/fleet.js';
import type { Logger } from './log.js';

export type OnlineSource = 'status' | 'last_will' | 'telemetry' | 'heartbeat_timeout' | 'retained_status';

export interface DomainEventMap {
  /** Telemetry accepted as the vehicle's new latest state (duplicates and stale messages never get here). */
  'vehicle.telemetry': { vehicleId: string; state: VehicleLive; clockSkewMs: number };
  /** The vehicle's online flag changed. */
  'vehicle.online': { vehicleId: string; online: boolean; at: number; source: OnlineSource };
  /** A device event, first delivery only (QoS 1 redeliveries are dropped as duplicates before this). */
  'vehicle.event': { vehicleId: string; event: DeviceEvent; receivedAt: number };
  /** A command changed state (queued → sent → received → succeeded | failed | expired | cancelled). */
  'command.transition': { commandId: string; vehicleId: string; type: CommandType; from: string | null; to: string; at: number };
  /** A rental started (committed): the car is in use from now on. */
  'rental.started': { rentalId: string; vehicleId: string; customerId: string; at: number };
  /** A rental ended (committed). */
  'rental.ended': { rentalId: string; vehicleId: string; customerId: string; at: number };
  /**
   * A reservation or booking was created or changed (cancelled, extended, expired, converted), committed by this
   * instance; the availability index updates the vehicle at once (other instances see it at their next refresh).
   */
  'allocation.changed': {
    allocationId: string;
    kind: 'reservation' | 'booking' | 'rental';
    vehicleId: string;
    customerId: string;
    status: string;
    at: number;
    /** held or confirmed: the blocked period (epoch ms; end null = open) — such a claim only ever adds to what holds the car */
    period?: { start: number; end: number | null };
  };
}

export type DomainEventName = keyof DomainEventMap;
export type DomainEventHandler<E extends DomainEventName> = (payload: DomainEventMap[E]) => void;

export class DomainEvents {
  private readonly handlers = new Map<DomainEventName, Set<(payload: never) => void>>();
  private failures = 0;

  constructor(private readonly log?: Logger) {}

  on<E extends DomainEventName>(event: E, handler: DomainEventHandler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    const h = handler as (payload: never) => void;
    set.add(h);
    return () => set.delete(h);
  }

  emit<E extends DomainEventName>(event: E, payload: DomainEventMap[E]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of set) {
      try {
        (h as DomainEventHandler<E>)(payload);
      } catch (err) {
        this.failures++;
        this.log?.error('domain event handler failed', { event, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /** Handler exceptions since start (for tests and metrics). */
  handlerFailures(): number {
    return this.failures;
  }
}
