/**
 * Every message the simulator sends goes through one pipeline: middlewares in order, then the MQTT sink.
 * Faults on demand (duplicates, reordering, skewed clocks, malformed payloads, dropped messages) are
 * middlewares — they see the structured body before it is serialized and may call `next` zero, one or
 * several times, now or later:
 *
 *   const duplicate: PublishMiddleware = (msg, next) => { next(msg); next(msg); };
 *   const skew: PublishMiddleware = (msg, next) => next({ ...msg, body: { ...(msg.body as object), ts: … } });
 *   const malformed: PublishMiddleware = (msg, next) => next({ ...msg, payload: '{"v":1,' });
 *
 * With no middleware installed the pipeline is the sink itself (20,000 messages/s pay no indirection).
 */
import type { DeviceChannel } from '../src/shared/device-protocol.js';

export interface OutgoingMessage {
  readonly vehicleId: string;
  readonly channel: DeviceChannel;
  readonly topic: string;
  /** the structured message (Telemetry, DeviceStatus, …); serialized with JSON.stringify unless `payload` is set */
  readonly body: unknown;
  /** raw bytes to send instead of the serialized body (malformed-payload faults) */
  readonly payload?: string | Uint8Array;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export type PublishFn = (msg: OutgoingMessage) => void;
export type PublishMiddleware = (msg: OutgoingMessage, next: PublishFn) => void;

export class PublishPipeline {
  private readonly middlewares: PublishMiddleware[] = [];
  private head: PublishFn;

  constructor(private readonly sink: PublishFn) {
    this.head = sink;
  }

  /** Sends one message through the middlewares to the sink. */
  readonly publish: PublishFn = (msg) => this.head(msg);

  /** Appends a middleware (it runs after those already installed); returns a function that removes it. */
  use(middleware: PublishMiddleware): () => void {
    this.middlewares.push(middleware);
    this.rebuild();
    return () => {
      const i = this.middlewares.indexOf(middleware);
      if (i >= 0) {
        this.middlewares.splice(i, 1);
        this.rebuild();
      }
    };
  }

  private rebuild(): void {
    let next = this.sink;
    for (let i = this.middlewares.length - 1; i >= 0; i--) {
      const mw = this.middlewares[i]!;
      const after = next;
      next = (msg) => mw(msg, after);
    }
    this.head = next;
  }
}

export function serialize(msg: OutgoingMessage): string | Uint8Array {
  return msg.payload ?? JSON.stringify(msg.body);
}
