import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/log.js';
import { StreamHub } from './stream-hub.js';

/** A stand-in for the HTTP response the route hands over (headers already written): a stream we can read back. */
function fakeResponse(): { res: ServerResponse; ended: () => boolean } {
  const res = new PassThrough();
  let ended = false;
  res.on('finish', () => (ended = true));
  res.resume();
  return { res: res as unknown as ServerResponse, ended: () => ended };
}

function hub(): StreamHub {
  return new StreamHub({
    heads: async () => new Map(),
    pull: async (_collection, checkpoint) => ({ documents: [], checkpoint }),
    log: createLogger({ level: 'silent' }),
  });
}

describe('StreamHub', () => {
  it('ends the streams it holds when it stops', async () => {
    const h = hub();
    await h.start();
    const a = fakeResponse();
    h.open([{ collection: 'tasks', checkpoint: 0 }], 'dispatcher', a.res, false);
    expect(h.size).toBe(1);
    await h.stop();
    await new Promise((r) => setImmediate(r));
    expect(a.ended()).toBe(true);
    expect(h.size).toBe(0);
  });

  it('ends at once a stream opened after it stopped (its request was already in a handler when the server began closing)', async () => {
    const h = hub();
    await h.start();
    await h.stop();
    const late = fakeResponse();
    h.open([{ collection: 'alerts', checkpoint: 0 }], 'dispatcher', late.res, true);
    await new Promise((r) => setImmediate(r));
    expect(late.ended()).toBe(true);
    expect(h.size).toBe(0);
  });
});
