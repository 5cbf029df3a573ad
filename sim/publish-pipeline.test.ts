import { describe, expect, it } from 'vitest';
import { PublishPipeline, serialize, type OutgoingMessage } from './publish-pipeline.js';

const msg = (n: number): OutgoingMessage => ({
  vehicleId: 'veh-00001',
  channel: 'telemetry',
  topic: 'fleet/v1/vehicles/veh-00001/telemetry',
  body: { n },
  qos: 0,
  retain: false,
});

describe('publish pipeline', () => {
  it('runs middlewares in order, lets them transform, drop and repeat, and removes them again', () => {
    const sent: string[] = [];
    const p = new PublishPipeline((m) => sent.push(String(serialize(m))));
    p.publish(msg(1));
    const removeA = p.use((m, next) => next({ ...m, body: { ...(m.body as object), a: true } }));
    const removeB = p.use((m, next) => {
      if ((m.body as { n: number }).n === 0) return; // drop
      next(m);
      next({ ...m, payload: 'raw' });
    });
    p.publish(msg(2));
    p.publish(msg(0));
    removeA();
    p.publish(msg(3));
    removeB();
    removeB(); // twice is harmless
    p.publish(msg(4));
    expect(sent).toEqual(['{"n":1}', '{"n":2,"a":true}', 'raw', '{"n":3}', 'raw', '{"n":4}']);
  });
});
