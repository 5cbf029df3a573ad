/**
 * Publisher process of bench/ingest.ts (forked, own event loop): telemetry for the bench fleet over several
 * MQTT connections at the rate the parent asks for. `ts` in each payload is the publish time, so the server's
 * state row carries the publish time as device_ts (the end-to-end latency is measured from it).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '../src/shared/device-protocol.js';

const [url = 'mqtt://127.0.0.1:1883', prefix = 'bench', countArg = '20000', connArg = '4'] = process.argv.slice(2);
const count = Number(countArg);
const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
const topics = ids.map((id) => deviceTopic(id, 'telemetry'));
const seqs = new Array<number>(count).fill(0);
let next = 0;

type Step = { rate: number; durationMs: number };

async function main(): Promise<void> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < Number(connArg); i++) {
    clients.push(await mqtt.connectAsync(url, { clientId: `${prefix}-pub-${i}`, protocolVersion: 4, reconnectPeriod: 0 }));
  }
  process.on('message', (msg: Step | { stop: true }) => {
    if ('stop' in msg) {
      void Promise.all(clients.map((c) => c.endAsync())).then(() => process.exit(0));
      return;
    }
    void runStep(clients, msg).then((sent) => process.send?.({ sent }));
  });
  process.send?.({ ready: true });
}

function payload(i: number): string {
  seqs[i] = seqs[i]! + 1;
  const seq = seqs[i]!;
  const lat = 52.3 + (i % 1000) / 5000;
  const lon = 13.1 + Math.floor(i / 1000) / 500;
  return `{"v":1,"seq":${seq},"ts":${Date.now()},"lat":${lat},"lon":${lon},"speedKph":${seq % 60},"headingDeg":${(seq * 7) % 360},"batteryPct":${50 + (seq % 50)},"odometerKm":${1000 + seq},"ignition":true,"locked":false,"doorsClosed":true}`;
}

/** Publishes `rate` msg/s for `durationMs` in 5 ms ticks (catching up after a late tick); returns how many it sent. */
function runStep(clients: MqttClient[], step: Step): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    let sent = 0;
    const tick = () => {
      const elapsed = performance.now() - started;
      const due = Math.floor((step.rate * Math.min(elapsed, step.durationMs)) / 1000) - sent;
      for (let k = 0; k < due; k++) {
        const i = next;
        next = (next + 1) % count;
        clients[k % clients.length]!.publish(topics[i]!, payload(i), { qos: 0 });
      }
      sent += Math.max(0, due);
      if (elapsed >= step.durationMs) resolve(sent);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
