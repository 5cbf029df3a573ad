/**
 * The desktop's MQTT connection: subscribes to every vehicle's telemetry and status, validates each message
 * against the device protocol and hands valid ones to a sink (the live fleet). Malformed messages are dropped
 * and counted by reason; nothing here throws into mqtt.js or changes state for a bad message.
 *
 * Reconnects are ours, not mqtt.js's: its `reconnectPeriod` is a fixed interval, and after a broker restart
 * every desktop would retry in lock-step. We disable it and open a fresh client after an exponential, jittered
 * delay. A fresh client per attempt also means no half-reset client state survives a failure.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  SUBSCRIPTIONS,
  decodeStatus,
  decodeTelemetry,
  parseDeviceTopic,
  type DeviceStatus,
  type DropReason,
  type Telemetry,
} from '../../shared/device-protocol.js';
import type { LinkState } from '../../shared/desktop-api.js';
import { redactUrl } from '../../shared/redact-url.js';
import type { Logger } from '../log.js';
import { desktopRetryDelay, type BackoffOptions } from './backoff.js';
import { LinkStateTracker } from './link-state.js';

/** Where valid messages go. A returned reason means "not applied" (e.g. an old seq) and is counted as a drop. */
export interface TelemetrySink {
  telemetry(vehicleId: string, message: Telemetry, receivedAt: number): DropReason | null;
  status(vehicleId: string, message: DeviceStatus, receivedAt: number): DropReason | null;
}

export interface TelemetryFeedOptions {
  mqttUrl: string;
  username?: string;
  password?: string;
  /** mqtts: the CA certificate(s) (PEM) the broker's certificate must chain to; a broker with another one is refused */
  ca?: string | Buffer;
  sink: TelemetrySink;
  onLinkChange?: (state: LinkState) => void;
  logger: Logger;
  backoff?: BackoffOptions;
  /** consecutive failed attempts after which the link reports `offline` instead of `reconnecting` (default 3) */
  offlineAfterAttempts?: number;
  /** ms to wait for CONNACK (default 10 000) */
  connectTimeoutMs?: number;
  now?: () => number;
}

/** Drop reasons beyond the protocol's own: a sink that threw (a bug, but it must not kill the feed). */
export type FeedDropReason = DropReason | 'internal';

export class TelemetryFeed {
  private readonly link: LinkStateTracker;
  private readonly dropped = new Map<FeedDropReason, number>();
  private readonly now: () => number;
  private client: MqttClient | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private running = false;
  private received = 0;

  constructor(private readonly options: TelemetryFeedOptions) {
    this.now = options.now ?? Date.now;
    this.link = new LinkStateTracker((s) => options.onLinkChange?.(s), this.now);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempts = 0;
    this.link.set('connecting', { attempts: 0 });
    this.connect();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    this.client = null;
    if (client) await endClient(client);
    this.link.set('offline', { detail: 'stopped', attempts: 0 });
  }

  getLinkState(): LinkState {
    return this.link.get();
  }

  /** Dropped messages by reason since start. */
  getDropped(): Record<string, number> {
    return Object.fromEntries(this.dropped);
  }

  /** Messages accepted (decoded and applied) since start. */
  getReceivedCount(): number {
    return this.received;
  }

  private connect(): void {
    const { mqttUrl, username, password, ca } = this.options;
    const client = mqtt.connect(mqttUrl, {
      clientId: `fleetdesk-desktop-${randomBytes(6).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      keepalive: 30,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      // mqtts: the broker's certificate is verified (chain and host name), never waved through
      rejectUnauthorized: true,
      ...(ca !== undefined ? { ca } : {}),
    });
    this.client = client;
    let failed = false;
    const fail = (detail: string): void => {
      // 'error' and 'close' often both fire for one failure; handle it once, and ignore stale clients.
      if (failed || this.client !== client || !this.running) return;
      failed = true;
      this.client = null;
      void endClient(client);
      this.scheduleRetry(detail);
    };

    client.on('connect', () => {
      client.subscribe({ [SUBSCRIPTIONS.allTelemetry]: { qos: 0 }, [SUBSCRIPTIONS.allStatus]: { qos: 1 } }, (err, granted) => {
        if (this.client !== client) return;
        const refused = granted?.find((g) => g.qos === 128);
        if (err || refused) {
          fail(`subscribe failed: ${err ? err.message : `refused ${refused!.topic}`}`);
          return;
        }
        this.attempts = 0;
        this.link.ok(this.now());
        this.link.set('connected', { attempts: 0 });
        this.options.logger.info('broker connected', { url: redactUrl(mqttUrl) });
      });
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => fail(err.message || String(err)));
    client.on('close', () => fail('connection closed'));
  }

  private scheduleRetry(detail: string): void {
    this.attempts += 1;
    const offlineAfter = this.options.offlineAfterAttempts ?? 3;
    this.link.set(this.attempts >= offlineAfter ? 'offline' : 'reconnecting', { detail, attempts: this.attempts });
    const delay = desktopRetryDelay(this.attempts, this.options.backoff);
    this.options.logger.warn('broker link down', { detail, attempts: this.attempts, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.running) return;
      this.connect();
    }, delay);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const receivedAt = this.now();
    const reason = this.handle(topic, payload, receivedAt);
    if (reason) {
      this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    } else {
      this.received += 1;
      this.link.ok(receivedAt);
    }
  }

  private handle(topic: string, payload: Buffer, receivedAt: number): FeedDropReason | null {
    try {
      const parsed = parseDeviceTopic(topic);
      if (!parsed) return 'bad_topic';
      if (parsed.channel === 'telemetry') {
        const decoded = decodeTelemetry(payload, parsed.vehicleId);
        if (!decoded.ok) return decoded.reason;
        return this.options.sink.telemetry(parsed.vehicleId, decoded.value, receivedAt);
      }
      if (parsed.channel === 'status') {
        // An empty retained payload is how a retained status is cleared: nothing to apply, nothing malformed.
        if (payload.length === 0) return null;
        const decoded = decodeStatus(payload);
        if (!decoded.ok) return decoded.reason;
        return this.options.sink.status(parsed.vehicleId, decoded.value, receivedAt);
      }
      return 'bad_topic';
    } catch (err) {
      this.options.logger.error('telemetry sink failed', { err, topic });
      return 'internal';
    }
  }
}

function endClient(client: MqttClient): Promise<void> {
  // Keep an error listener: an ended client may still emit one, and an unhandled 'error' would crash.
  client.removeAllListeners();
  client.on('error', () => {});
  return new Promise((resolve) => client.end(true, {}, () => resolve()));
}
