/**
 * One timer drives the whole fleet. The tick (1/rate s) is cut into ~10 ms slots and the vehicles are dealt
 * evenly into the slots, so 20,000 vehicles at 1 Hz publish ~200 messages every 10 ms instead of 20,000 in one
 * burst. Every vehicle is stepped once per tick with the time actually elapsed since its last step, so a late
 * timer never distorts the movement; moving vehicles publish every tick, parked ones every `heartbeatMs` or at
 * once when their doors/lock/ignition change. The model's events (trip start and end, low energy) and the
 * random crashes are published as device events before the tick's telemetry.
 */
import { performance } from 'node:perf_hooks';
import { CHANNEL_RULES, DEVICE_PROTOCOL_VERSION, type DeviceEvent, type DeviceEventType } from '../src/shared/device-protocol.js';
import type { DeviceConnection } from './device-connection.js';
import { uniform, type Rng } from './prng.js';
import type { PublishPipeline } from './publish-pipeline.js';
import type { DeviceClock, SimCounters, SimVehicle } from './sim-vehicle.js';
import { isActive, step, toTelemetry, type ModelEvent, type World } from './vehicle-model.js';

const SLOT_MS = 10;

export interface FleetSchedulerOptions {
  vehicles: readonly SimVehicle[];
  connections: readonly DeviceConnection[];
  perConnection: number;
  tickMs: number;
  heartbeatMs: number;
  world: World;
  /** the real clock, epoch ms */
  clock: () => number;
  deviceTime: DeviceClock;
  pipeline: PublishPipeline;
  counters: SimCounters;
  /** the fault stream (crashes), apart from the vehicles' streams */
  faultRng: Rng;
  /** crash_detected rate per driving vehicle-ms, read on every step (faults may change it) */
  faults: { readonly crashPerMs: number };
}

export class FleetScheduler {
  private readonly slots: SimVehicle[][];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private epoch = 0;
  private nextSlot = 0;
  /** reused by every step to collect model events without allocating */
  private readonly stepEvents: ModelEvent[] = [];

  constructor(private readonly o: FleetSchedulerOptions) {
    const slotCount = Math.max(1, Math.round(o.tickMs / SLOT_MS));
    this.slots = Array.from({ length: slotCount }, () => []);
    this.assignSlots(slotCount, o.perConnection);
  }

  /**
   * Deals the vehicles into the tick's slots: evenly overall, but vehicles of one connection in runs, so a
   * connection sends several messages per slot in one socket write (mqtt.js corks the socket until the
   * next tick) instead of one syscall per message — the socket writes are most of the CPU cost at scale.
   */
  private assignSlots(slotCount: number, perConnection: number): void {
    const connections = this.o.connections;
    const chunksPerConnection = Math.max(1, Math.ceil(slotCount / connections.length));
    connections.forEach((conn, c) => {
      conn.vehicles.forEach((v, j) => {
        const chunk = c * chunksPerConnection + Math.floor((j * chunksPerConnection) / Math.max(perConnection, conn.vehicles.length));
        this.slots[chunk % slotCount]!.push(v);
      });
    });
  }

  start(): void {
    const now = performance.now();
    for (const v of this.o.vehicles) v.lastStepAt = now;
    this.epoch = now;
    this.nextSlot = 0;
    this.timer = setTimeout(this.onTimer, 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.stopped) return;
    const { tickMs, counters } = this.o;
    const slotCount = this.slots.length;
    let now = performance.now();
    const lag = now - (this.epoch + this.nextSlot * SLOT_MS);
    if (lag > counters.maxLagMs) counters.maxLagMs = lag;
    if (lag > tickMs) {
      // More than a whole tick behind: skip ahead rather than burst. Steps use real elapsed time, so the
      // movement stays right; only the report rate drops (visible as maxLagMs).
      this.nextSlot = Math.floor((now - this.epoch) / SLOT_MS) - slotCount + 1;
    }
    // At most one tick's worth of slots per timer, then back to the event loop: on a starved CPU a slot can take
    // longer than SLOT_MS, and a loop chasing the clock never returned — no MQTT I/O, every connection dropped for a
    // missed keepalive (seen with 20,000 vehicles at load 20 on 2 cores). The next timer skips ahead as above.
    for (let ran = 0; ran < slotCount && this.epoch + this.nextSlot * SLOT_MS <= now; ran++) {
      this.runSlot(this.slots[this.nextSlot % slotCount]!, now);
      this.nextSlot++;
      now = performance.now();
    }
    this.timer = setTimeout(this.onTimer, Math.max(0, this.epoch + this.nextSlot * SLOT_MS - performance.now()));
  };

  private runSlot(slot: SimVehicle[], now: number): void {
    const { world, counters, heartbeatMs, tickMs, faultRng, faults } = this.o;
    const realTs = this.o.clock();
    const events = this.stepEvents;
    for (const v of slot) {
      const dt = now - v.lastStepAt;
      events.length = 0;
      v.state = step(v.state, dt, v.rng, world, events);
      v.lastStepAt = now;
      const ts = this.o.deviceTime(v, realTs);
      const up = v.conn.connected && !v.silenced;
      if (events.length > 0) {
        for (const e of events) {
          // Stamped with when it happened inside the step; published before this tick's telemetry.
          const data =
            e.levelPct === undefined
              ? undefined
              : { levelPct: Math.round(e.levelPct * 10) / 10, energy: v.state.energyType === 'electric' ? 'battery' : 'fuel' };
          if (up) this.publishEvent(v, e.type, ts - (dt - e.atMs), data);
          else counters.droppedWhileDisconnected++;
        }
      }
      if (faults.crashPerMs > 0 && v.state.phase === 'driving' && v.state.speedMps > 3 && faultRng() < faults.crashPerMs * dt && up) {
        this.crash(v, undefined, ts);
      }
      const s = v.state;
      const flags = (s.ignition ? 1 : 0) | (s.locked ? 2 : 0) | (s.doorsClosed ? 4 : 0);
      const due = isActive(s) || flags !== v.lastFlags || now - v.lastPublishAt >= heartbeatMs - tickMs / 2;
      if (!due) continue;
      if (!up) {
        counters.droppedWhileDisconnected++;
        continue;
      }
      if (v.lastPublishAt === -Infinity) {
        // Spread the parked heartbeats over the heartbeat interval instead of all on the first tick.
        v.lastPublishAt = now - ((v.index * 0.6180339887) % 1) * heartbeatMs;
      } else {
        v.lastPublishAt = now;
      }
      v.lastFlags = flags;
      v.seq++;
      const telemetry = toTelemetry(s, world.network, v.seq, ts);
      v.lastTelemetry = telemetry;
      counters.telemetry++;
      this.o.pipeline.publish({
        vehicleId: v.id,
        channel: 'telemetry',
        topic: v.telemetryTopic,
        body: telemetry,
        qos: CHANNEL_RULES.telemetry.qos,
        retain: CHANNEL_RULES.telemetry.retain,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- events

  publishEvent(v: SimVehicle, type: DeviceEventType, ts: number, data?: Record<string, string | number | boolean>): DeviceEvent {
    v.seq++;
    const { lat, lon } = this.o.world.network.projection.toLatLon(v.state.x, v.state.y);
    const event: DeviceEvent = {
      v: DEVICE_PROTOCOL_VERSION,
      seq: v.seq,
      ts: Math.max(0, Math.floor(ts)),
      type,
      lat: Math.round(lat * 1e6) / 1e6,
      lon: Math.round(lon * 1e6) / 1e6,
      ...(data ? { data } : {}),
    };
    this.o.counters.events++;
    this.o.pipeline.publish({
      vehicleId: v.id,
      channel: 'events',
      topic: v.eventsTopic,
      body: event,
      qos: CHANNEL_RULES.events.qos,
      retain: CHANNEL_RULES.events.retain,
    });
    return event;
  }

  /** crash_detected with data.peakG; a driving car then brakes to the kerb and ends its trip. */
  crash(v: SimVehicle, data: Record<string, string | number | boolean> | undefined, ts: number): DeviceEvent {
    const peakG = Math.round(uniform(this.o.faultRng, 2.5, 8) * 10) / 10;
    const event = this.publishEvent(v, 'crash_detected', ts, { peakG, ...data });
    if (v.state.phase === 'driving') v.state = { ...v.state, phaseRemainingMs: 0 };
    return event;
  }
}
