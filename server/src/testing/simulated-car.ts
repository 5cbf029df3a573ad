/**
 * A simulated car for tests through the real broker: its telemetry (seq, odometer and position kept between
 * samples), its device events, and a wait until the server has taken the last report as the car's state.
 */
import { deviceTopic, type DeviceEventType, type Telemetry } from '../../../src/shared/device-protocol.js';
import { DEFAULT_SERVICE_AREA } from '../../../src/shared/service-area.js';
import type { ServerHandle } from '../app.js';
import { connectCommandDevice, type CommandDevice } from './command-device.js';
import { connectDevice, waitFor, type TestDevice } from './devices.js';

export class SimulatedCar {
  private seq = 0;
  /** the seq of the last telemetry report (events take seqs from the same counter but are not the live state) */
  private lastTelemetrySeq = 0;
  state: Omit<Telemetry, 'v' | 'seq' | 'ts'> = {
    lat: DEFAULT_SERVICE_AREA.center.lat,
    lon: DEFAULT_SERVICE_AREA.center.lon,
    speedKph: 0,
    headingDeg: 90,
    batteryPct: 80,
    odometerKm: 1000,
    ignition: false,
    locked: true,
    doorsClosed: true,
  };
  constructor(
    readonly vehicleId: string,
    readonly telemetry: TestDevice,
    readonly device: CommandDevice,
  ) {}

  /** A car on `brokerUrl` whose device answers every command with success. */
  static async connect(brokerUrl: string, vehicleId: string): Promise<SimulatedCar> {
    return new SimulatedCar(
      vehicleId,
      await connectDevice(brokerUrl, vehicleId),
      await connectCommandDevice(brokerUrl, vehicleId, { behaviour: 'succeed' }),
    );
  }

  async report(change: Partial<Telemetry> = {}): Promise<void> {
    this.state = { ...this.state, ...change };
    this.lastTelemetrySeq = ++this.seq;
    await this.telemetry.publishTelemetry({ v: 1, seq: this.lastTelemetrySeq, ts: Date.now(), ...this.state }, 1);
  }

  /** A device event (QoS 1) at the car's position, from the same sequence as its telemetry. */
  async event(type: DeviceEventType, data: Record<string, number | string> = {}): Promise<void> {
    const payload = { v: 1, seq: ++this.seq, ts: Date.now(), type, lat: this.state.lat, lon: this.state.lon, data };
    await this.telemetry.client.publishAsync(deviceTopic(this.vehicleId, 'events'), JSON.stringify(payload), { qos: 1 });
  }

  /** Disconnects its telemetry and command clients (never throws: for test teardown). */
  async close(): Promise<void> {
    await Promise.all([this.device.close().catch(() => undefined), this.telemetry.close().catch(() => undefined)]);
  }

  /** Waits until the server has taken the last report as the car's state (staff live view), then stores it. */
  async settled(server: ServerHandle, staff: Record<string, string>): Promise<void> {
    await waitFor(
      async () => {
        const res = await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: staff });
        const body = (await res.json()) as { vehicles?: Array<{ id: string; seq: number }> };
        return body.vehicles?.find((v) => v.id === this.vehicleId)?.seq === this.lastTelemetrySeq;
      },
      { timeoutMs: 10_000, what: `telemetry ${this.lastTelemetrySeq} of ${this.vehicleId} at the server` },
    );
    await server.flushIngestion();
  }
}
