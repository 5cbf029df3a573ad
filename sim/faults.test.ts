import { describe, expect, it } from 'vitest';
import { decodeDeviceEvent, decodeTelemetry, deviceTopic, type DeviceEvent, type Telemetry } from '../src/shared/device-protocol.js';
import { corrupt, MALFORMED_EXPECTED_REASON, MALFORMED_KINDS, parseFaultSpecs, reorderFault } from './faults.js';
import type { OutgoingMessage } from './publish-pipeline.js';
import { useSimHarness } from './testing/harness.js';
import { sleep, until, type Received } from './testing/test-broker.js';

const telemetry: Telemetry = {
  v: 1,
  seq: 42,
  ts: 1_795_000_000_000,
  lat: 52.5,
  lon: 13.4,
  speedKph: 30,
  headingDeg: 90,
  fuelPct: 50,
  odometerKm: 1234.5,
  ignition: true,
  locked: false,
  doorsClosed: true,
};
const event: DeviceEvent = { v: 1, seq: 43, ts: 1_795_000_000_100, type: 'door_opened', lat: 52.5, lon: 13.4 };
const message = (channel: 'telemetry' | 'events', body: unknown): OutgoingMessage => ({
  vehicleId: 'veh-00001',
  channel,
  topic: deviceTopic('veh-00001', channel),
  body,
  qos: channel === 'events' ? 1 : 0,
  retain: false,
});

describe('fault building blocks', () => {
  it.each(MALFORMED_KINDS)('a %s payload fails the shared decoders with the expected reason', (kind) => {
    expect(decodeTelemetry(JSON.stringify(telemetry), 'veh-00001').ok).toBe(true);
    const t = corrupt(message('telemetry', telemetry), kind);
    const dt = decodeTelemetry(t.payload!, 'veh-00001');
    expect(dt).toMatchObject({ ok: false, reason: MALFORMED_EXPECTED_REASON[kind] });
    const e = corrupt(message('events', event), kind);
    const de = decodeDeviceEvent(e.payload!, 'veh-00001');
    expect(de).toMatchObject({ ok: false, reason: MALFORMED_EXPECTED_REASON[kind] });
  });

  it('reorder holds a message until the vehicle’s next one, and flushes what it holds', () => {
    const sent: number[] = [];
    let hold = true;
    const fault = reorderFault({ probability: 1, rng: () => (hold ? 0 : 1) });
    const send = (seq: number): void => fault.middleware(message('telemetry', { seq }), (m) => sent.push((m.body as { seq: number }).seq));
    send(1); // held
    send(2); // goes, then 1
    hold = false;
    send(3);
    hold = true;
    send(4); // held
    expect(sent).toEqual([2, 1, 3]);
    fault.flush();
    expect(sent).toEqual([2, 1, 3, 4]);
    fault.flush(); // nothing left, no timer left
    expect(sent).toEqual([2, 1, 3, 4]);
  });

  it('parses --fault specs and rejects bad ones with one clear line', () => {
    expect(
      parseFaultSpecs([
        'duplicate=0.05',
        'reorder=0.02',
        'malformed=0.01',
        'skew=-120000',
        'drift=60000',
        'command-fail=0.2',
        'command-ignore=0.1',
        'command-delay=5000',
        'crash=0.5',
      ]),
    ).toEqual({
      ok: true,
      faults: {
        duplicate: 0.05,
        reorder: 0.02,
        malformed: 0.01,
        skewMs: -120000,
        driftMsPerHour: 60000,
        commandFail: 0.2,
        commandIgnore: 0.1,
        commandDelayMs: 5000,
        crashPerHour: 0.5,
      },
    });
    const cases: Array<[string, RegExp]> = [
      ['duplicate=1.5', /--fault duplicate must be a probability from 0 to 1.*\(got "1\.5"\)/],
      ['duplicate', /--fault duplicate must be a probability/],
      ['reorder=abc', /--fault reorder must be a probability/],
      ['skew=1.5', /--fault skew must be an integer number of ms/],
      ['command-delay=-1', /--fault command-delay must be an integer number of ms from 0/],
      ['crash=-1', /--fault crash must be a rate per hour/],
      ['bogus=1', /unknown fault "bogus" \(known: duplicate, reorder/],
    ];
    for (const [spec, re] of cases) {
      const r = parseFaultSpecs([spec]);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).toMatch(re);
        expect(r.message).not.toContain('\n');
      }
    }
  });
});

// ------------------------------------------------------------------------------------------------ over MQTT

const h = useSimHarness({ seed: 11, rate: 10, movingShare: 1 });
const { setup } = h;

const seqOf = (m: Received): number | undefined => m.telemetry?.seq ?? m.event?.seq;

describe('faults on demand, observed by a subscriber (in-process Aedes)', () => {
  it('duplicate: the same message twice, same seq, same bytes', async () => {
    const { sim, server } = await setup({ vehicles: 4, faults: { duplicate: 0.3 } });
    await until('duplicates', () => sim.stats().faults.duplicated >= 10);
    await sleep(200);
    const seen = new Map<string, Buffer>();
    let dups = 0;
    for (const m of server.messages.filter((x) => x.telemetry)) {
      const key = `${m.vehicleId}:${m.telemetry!.seq}`;
      const before = seen.get(key);
      if (before) {
        dups++;
        expect(m.raw.equals(before)).toBe(true);
      }
      seen.set(key, m.raw);
    }
    expect(dups).toBeGreaterThanOrEqual(5);
    // Removing the fault stops it.
    sim.setFaults({});
    const n = sim.stats().faults.duplicated;
    await sleep(300);
    expect(sim.stats().faults.duplicated).toBe(n);
  });

  it('reorder: some seqs arrive after higher ones, none is lost', async () => {
    const { sim, server } = await setup({ vehicles: 4, faults: { reorder: 0.2 } });
    await until('reordered', () => sim.stats().faults.reordered >= 10);
    await sim.stop(); // flushes what is held back
    await sleep(200);
    let outOfOrder = 0;
    for (const id of sim.vehicleIds) {
      const seqs = server
        .of(id)
        .map(seqOf)
        .filter((s): s is number => s !== undefined);
      for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) outOfOrder++;
      // Every seq from the first to the last arrived (telemetry and events share the counter): nothing lost.
      const sorted = [...seqs].sort((a, b) => a - b);
      expect(sorted.length).toBe(sorted[sorted.length - 1]! - sorted[0]! + 1);
    }
    expect(outOfOrder).toBeGreaterThanOrEqual(5);
  });

  it('malformed: corrupted payloads fail the shared decoders with the expected reasons', async () => {
    const { sim, server } = await setup({ vehicles: 5, faults: { malformed: 0.5 } });
    await until('malformed', () => sim.stats().faults.malformed >= 60);
    await sleep(200);
    const reasons = new Set(server.messages.filter((m) => m.dropReason).map((m) => m.dropReason));
    expect([...reasons].sort()).toEqual(['not_json', 'schema', 'too_large', 'topic_mismatch']);
    // The rest decode fine, and status messages are never corrupted.
    expect(server.messages.filter((m) => m.channel === 'status').every((m) => m.status)).toBe(true);
    expect(server.messages.filter((m) => m.telemetry).length).toBeGreaterThan(20);
  });

  it('skewed and drifting device clocks show in every ts', async () => {
    const { sim, server } = await setup({ vehicles: 3, faults: { skewMs: 120_000 } });
    sim.setClockSkew('veh-00002', { offsetMs: -3_600_000 });
    sim.setClockSkew('veh-00003', { offsetMs: 0, driftMsPerHour: 3_600_000_000 }); // +1 s per real ms
    const mark = server.messages.length;
    await sleep(800);
    const since = server.messages.slice(mark).filter((m) => m.telemetry);
    const offsets = (id: string): number[] => since.filter((m) => m.vehicleId === id).map((m) => m.telemetry!.ts - m.at);
    expect(offsets('veh-00001').length).toBeGreaterThan(3);
    for (const o of offsets('veh-00001')) expect(Math.abs(o - 120_000)).toBeLessThan(2_000);
    for (const o of offsets('veh-00002')) expect(Math.abs(o + 3_600_000)).toBeLessThan(2_000);
    const drift = offsets('veh-00003');
    expect(drift[drift.length - 1]! - drift[0]!).toBeGreaterThan(100_000);
    expect(sim.deviceTime('veh-00001') - Date.now()).toBeGreaterThan(119_000);
    // Back to the fleet-wide skew.
    sim.setClockSkew('veh-00002', undefined);
    expect(Math.abs(sim.deviceTime('veh-00002') - Date.now() - 120_000)).toBeLessThan(1_000);
  });

  it('goOffline with last will: the broker publishes offline; without: silence, no offline status', async () => {
    const { sim, server } = await setup({ vehicles: 2, movingShare: 0.5 });
    await sim.goOffline('veh-00001', { lastWill: true });
    await sim.goOffline('veh-00002', { lastWill: false });
    await until('will', () => server.of('veh-00001').some((m) => m.status?.state === 'offline'));
    await until('disconnect seen', () => h.broker().clientEvents.includes('-veh-00002'));
    const mark = server.messages.length;
    await sleep(500);
    expect(server.messages.slice(mark)).toEqual([]);
    expect(server.of('veh-00002').some((m) => m.status?.state === 'offline')).toBe(false);
    expect(sim.stats().connected).toBe(0);
    await sim.restoreConnection('veh-00002');
    await until('back', () => server.messages.slice(mark).some((m) => m.vehicleId === 'veh-00002' && m.status?.state === 'online'));
  });
});

describe('device events (in-process Aedes)', () => {
  const SHORT_TRIPS = { movingShare: 0.5, model: { tripMinMs: 1_500, tripMaxMs: 2_500, doorsOpenMinMs: 300, doorsOpenMaxMs: 500 } };

  it('are published as trips start and end, share the seq counter with telemetry, and match the telemetry', async () => {
    const { sim, server } = await setup({ vehicles: 6, rate: 5, ...SHORT_TRIPS, faults: { crashPerHour: 0 } });
    await until('several trips', () => server.messages.filter((m) => m.event?.type === 'ignition_on').length >= 6, 20_000);
    await sim.stop();
    await sleep(200);
    expect(server.messages.filter((m) => m.dropReason)).toEqual([]);
    for (const id of sim.vehicleIds) {
      const msgs = server.of(id).filter((m) => m.telemetry || m.event);
      const seqs = msgs.map(seqOf) as number[];
      expect(new Set(seqs).size).toBe(seqs.length); // one counter: no seq used twice
      const events = msgs.filter((m) => m.event).map((m) => m.event!);
      for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq); // QoS 1, in order
      const kinds = events.map((e) => e.type).join(',');
      // A trip start is door_opened, door_closed, ignition_on; an end is ignition_off, door_opened, door_closed.
      for (const m of kinds.matchAll(/ignition_on/g)) if (m.index > 0) expect(kinds.slice(0, m.index)).toMatch(/door_opened,door_closed,$/);
      for (const m of kinds.matchAll(/ignition_off/g)) expect(kinds.slice(m.index)).toMatch(/^ignition_off(,door_opened|$)/);
      // The first telemetry after an event shows its effect (unless a later event of the same kind came between).
      const telemetry = msgs.filter((m) => m.telemetry).map((m) => m.telemetry!);
      for (const e of events) {
        const t = telemetry.find((x) => x.seq > e.seq);
        if (!t) continue;
        const door = e.type === 'door_opened' || e.type === 'door_closed';
        const between = events.some(
          (o) => o.seq > e.seq && o.seq < t.seq && (door ? o.type.startsWith('door') : o.type.startsWith('ignition')),
        );
        if (between) continue;
        if (e.type === 'door_opened') expect(t.doorsClosed).toBe(false);
        if (e.type === 'door_closed') expect(t.doorsClosed).toBe(true);
        if (e.type === 'ignition_on') expect(t.ignition).toBe(true);
        if (e.type === 'ignition_off') expect(t.ignition).toBe(false);
        expect(t.ts).toBeGreaterThanOrEqual(e.ts); // stamped when it happened, before the tick's telemetry
      }
    }
  });

  it('crash_detected (on demand and at random) carries data.peakG; tamper on demand', async () => {
    const { sim, server } = await setup({ vehicles: 3, rate: 5, faults: { crashPerHour: 3600 } });
    const tamper = sim.triggerEvent('veh-00001', 'tamper', { sensor: 'obd_port' });
    const crash = sim.triggerEvent('veh-00002', 'crash_detected', { peakG: 6.5 });
    expect(tamper).toMatchObject({ type: 'tamper', data: { sensor: 'obd_port' } });
    await until(
      'both arrive',
      () => server.messages.filter((m) => m.event?.type === 'tamper' || m.event?.data?.peakG === 6.5).length === 2,
    );
    expect(server.of('veh-00002').find((m) => m.event?.seq === crash!.seq)!.event).toMatchObject({
      type: 'crash_detected',
      data: { peakG: 6.5 },
    });
    // At 3600/h a driving car crashes about once a second; the crashed car ends its trip.
    await until('random crashes', () => server.messages.filter((m) => m.event?.type === 'crash_detected').length >= 3, 10_000);
    for (const m of server.messages.filter((x) => x.event?.type === 'crash_detected')) {
      expect(typeof m.event!.data!.peakG).toBe('number');
      expect(m.event!.data!.peakG).toBeGreaterThanOrEqual(2.5);
    }
    // Offline vehicles cannot report.
    sim.killConnection('veh-00003');
    expect(sim.triggerEvent('veh-00003', 'tamper')).toBeUndefined();
  });
});
