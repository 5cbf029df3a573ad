/**
 * Oversized MQTT packets (issue 13 §6): the embedded broker cuts a client whose packet header declares more than
 * MQTT_MAX_PACKET_BYTES before Aedes buffers the packet — a 10 MB CONNECT (before authentication) and a 10 MB
 * PUBLISH — and its memory stays flat. The memory figures are the broker process's own (heap + Buffers) peak while
 * the attack runs, against the same attack on a broker without the cap in the same run (which must show the growth,
 * or the measurement proves nothing).
 */
import { connect as tcpConnect } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAs, waitUntil } from '../../testing/mqtt-clients.js';
import { metricValue } from '../../testing/metrics.js';
import { createLogger } from '../log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { PacketFramer } from './packet-size-guard.js';

const log = createLogger({ level: 'silent' });
const CAP = 64 * 1024;
const TEN_MB = 10 * 1024 * 1024;
/** allowed growth of heap + Buffers while a capped broker is attacked (the attack itself is 10 MB) */
const FLAT_MARGIN = 3 * 1024 * 1024;

/** A fixed header: type byte + the remaining length as MQTT's varint. */
function fixedHeader(typeByte: number, remaining: number): Buffer {
  const bytes = [typeByte];
  do {
    let digit = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) digit |= 0x80;
    bytes.push(digit);
  } while (remaining > 0);
  return Buffer.from(bytes);
}

const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Runs `attack` while sampling the process's heap + Buffers every millisecond; resolves with the peak growth. */
async function peakGrowth(attack: () => Promise<void>): Promise<number> {
  await new Promise((r) => setTimeout(r, 50));
  const baseline = used();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, used())), 1);
  try {
    await attack();
    // Aedes would still be holding what it buffered: keep sampling a little after the attack
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    clearInterval(sampler);
  }
  return peak - baseline;
}

/** Sends a CONNECT whose header declares 10 MB, then the 10 MB; resolves when the server has closed the socket or all was sent. */
function oversizedConnect(url: string, body: Buffer): Promise<{ closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(fixedHeader(0x10, body.length));
      socket.write(body, () => {
        // everything was accepted by the server: give it a moment to answer or close
        setTimeout(() => {
          socket.destroy();
          resolve({ closedByServer: false });
        }, 300);
      });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ closedByServer: true }));
  });
}

describe('PacketFramer', () => {
  it('follows packet boundaries across chunks and refuses a header declaring more than the cap', () => {
    const framer = new PacketFramer(200);
    // a 2-byte PINGREQ and a 102-byte PUBLISH, the second header split across chunks
    const publish = Buffer.concat([fixedHeader(0x30, 100), Buffer.alloc(100)]);
    expect(framer.feed(Buffer.concat([Buffer.from([0xc0, 0x00]), publish.subarray(0, 1)]))).toBeNull();
    expect(framer.feed(publish.subarray(1, 50))).toBeNull();
    expect(framer.feed(publish.subarray(50))).toBeNull();
    const big = fixedHeader(0x30, 300);
    expect(framer.feed(big.subarray(0, 2))).toBeNull();
    expect(framer.feed(big.subarray(2))).toEqual({ reason: 'too_large', declaredBytes: 303 });
    expect(new PacketFramer(200).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toEqual({ reason: 'malformed_length' });
  });
});

describe('embedded broker packet cap', () => {
  let capped: EmbeddedBroker;
  let uncapped: EmbeddedBroker;
  const metrics = new Registry();
  const body = Buffer.alloc(TEN_MB, 0x61);
  beforeAll(async () => {
    capped = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log, metrics, maxPacketBytes: CAP });
    // the control: MQTT's own maximum, i.e. what Aedes did before the cap
    uncapped = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log, metrics: new Registry(), maxPacketBytes: 268_435_455 });
  });
  afterAll(async () => {
    await capped?.close();
    await uncapped?.close();
  });

  it('cuts a 10 MB CONNECT before authentication, with memory flat (the uncapped control grows by the packet)', async () => {
    let outcome = { closedByServer: false };
    const cappedGrowth = await peakGrowth(async () => {
      outcome = await oversizedConnect(capped.url, body);
    });
    const controlGrowth = await peakGrowth(async () => {
      await oversizedConnect(uncapped.url, body);
    });
    console.info(
      `10 MB CONNECT: peak heap+Buffers growth ${(cappedGrowth / 1048576).toFixed(1)} MiB with the 64 KiB cap; ` +
        `${(controlGrowth / 1048576).toFixed(1)} MiB without it (baseline, same run)`,
    );
    expect(outcome.closedByServer).toBe(true);
    expect(await metricValue(metrics, 'fleetdesk_mqtt_packets_refused_total', { reason: 'too_large' })).toBe(1);
    expect(controlGrowth).toBeGreaterThan(8 * 1024 * 1024);
    expect(cappedGrowth).toBeLessThan(FLAT_MARGIN);
  });

  it('cuts a client publishing 10 MB; nobody receives it; a normal publish still flows', async () => {
    const subscriber = await connectAs(capped.url, undefined);
    const attacker = await connectAs(capped.url, undefined);
    const sender = await connectAs(capped.url, undefined);
    try {
      await subscriber.client.subscribeAsync('fleet/#', { qos: 1 });
      let attackerClosed = false;
      attacker.client.on('close', () => (attackerClosed = true));
      const growth = await peakGrowth(async () => {
        attacker.client.publish('fleet/v1/big', body, { qos: 0 });
        await waitUntil(() => attackerClosed, 'the attacker to be cut', 10_000);
      });
      console.info(`10 MB PUBLISH: peak heap+Buffers growth ${(growth / 1048576).toFixed(1)} MiB with the 64 KiB cap`);
      expect(await metricValue(metrics, 'fleetdesk_mqtt_packets_refused_total', { reason: 'too_large' })).toBe(2);
      expect(growth).toBeLessThan(FLAT_MARGIN);
      // a packet just under the cap is fine
      await sender.client.publishAsync('fleet/v1/ok', Buffer.alloc(CAP - 100, 0x62), { qos: 1 });
      await waitUntil(() => subscriber.received.some((m) => m.topic === 'fleet/v1/ok'), 'the normal publish');
      expect(subscriber.received.map((m) => m.topic)).toEqual(['fleet/v1/ok']);
    } finally {
      await Promise.all([subscriber.close(), attacker.close(), sender.close()]);
    }
  });
});
