/**
 * The server's own MQTT connection (to the embedded or an external broker): one mqtt.js client with a unique
 * client id per instance, reconnecting with exponential backoff, re-subscribing on every (re)connect.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { backoffDelay } from '../../../../src/shared/backoff.js';
import { errorFields, type Logger } from '../log.js';

export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

/**
 * The link to the broker as this instance sees it: `connecting` until the first connection is ready, `up` while
 * connected with every subscription acknowledged, `down` from the moment the connection closed (or the first
 * attempt failed) until it is ready again. `since`: when it entered that state (epoch ms).
 */
export interface BrokerLinkState {
  status: 'connecting' | 'up' | 'down';
  since: number;
}

export interface MqttConnection {
  readonly clientId: string;
  /** connected and every registered subscription acknowledged by the broker */
  isReady(): boolean;
  /** Registers topic filters (applied now if connected, and again after every reconnect). */
  subscribe(filters: Record<string, { qos: 0 | 1 }>, handler: MessageHandler): void;
  /** The link's state and since when (what readiness, the integration health and the fleet's liveness judge by). */
  linkState(): BrokerLinkState;
  /** Calls `listener` on every change of the link's state; returns the unsubscribe function. */
  onLinkChange(listener: (state: BrokerLinkState) => void): () => void;
  /** Resolves true once ready, or false after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<boolean>;
  /**
   * Publishes now and resolves on the broker's acknowledgement (QoS 1). Rejects at once when not connected:
   * nothing is queued for a later reconnect, because commands carry an expiry (the caller decides what to resend).
   */
  publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface MqttConnectionOptions {
  url: string;
  log: Logger;
  clientIdPrefix?: string;
  /** the server's broker account (a `service` account); absent = anonymous */
  username?: string;
  password?: string;
  /** mqtts: the CA certificate(s) the broker's certificate must chain to (verified; a wrong one is refused) */
  ca?: string | Buffer;
  /** first reconnect delay; doubles up to maxReconnectMs while the broker stays away */
  minReconnectMs?: number;
  maxReconnectMs?: number;
}

export function connectMqtt(options: MqttConnectionOptions): MqttConnection {
  const { log } = options;
  const minReconnectMs = options.minReconnectMs ?? 500;
  const maxReconnectMs = options.maxReconnectMs ?? 30_000;
  const clientId = `${options.clientIdPrefix ?? 'fleetdesk-server'}-${randomUUID().slice(0, 8)}`;
  // Each filter split into its levels once: a message is matched without splitting anything.
  const subscriptions: Array<{ filters: Record<string, { qos: 0 | 1 }>; levels: string[][]; handler: MessageHandler }> = [];
  let subscribed = false;
  // Bumped by every subscribe round: only the latest round may declare "ready" (an earlier one may cover
  // fewer filters than are registered by now).
  let round = 0;
  let closing = false;
  let closed: Promise<void> | undefined;
  let lostSinceConnected = 0;
  const readyWaiters = new Set<() => void>();
  let link: BrokerLinkState = { status: 'connecting', since: Date.now() };
  const linkListeners = new Set<(state: BrokerLinkState) => void>();
  const setLink = (status: BrokerLinkState['status']) => {
    if (link.status === status) return;
    link = { status, since: Date.now() };
    for (const listener of linkListeners) {
      try {
        listener(link);
      } catch (err) {
        log.error('mqtt link listener failed', errorFields(err));
      }
    }
  };

  const client: MqttClient = mqtt.connect(options.url, {
    clientId,
    protocolVersion: 4, // the device protocol is MQTT 3.1.1 (ARCHITECTURE.md)
    clean: true,
    keepalive: 30,
    connectTimeout: 5_000,
    reconnectPeriod: minReconnectMs,
    resubscribe: false, // we re-subscribe ourselves on 'connect', with our own handlers
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    rejectUnauthorized: true,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
  });

  const subscribeAll = async () => {
    const mine = ++round;
    subscribed = false;
    try {
      for (const { filters } of subscriptions) {
        const granted = await client.subscribeAsync(filters);
        const refused = granted.filter((g) => g.qos === 128);
        if (refused.length > 0) throw new Error(`broker refused subscription ${refused.map((g) => g.topic).join(', ')}`);
      }
      if (mine !== round || !client.connected) return;
      subscribed = true;
      setLink('up');
      for (const wake of readyWaiters) wake();
    } catch (err) {
      if (!closing) log.error('mqtt subscribe failed', errorFields(err));
    }
  };

  client.on('connect', () => {
    lostSinceConnected = 0;
    client.options.reconnectPeriod = minReconnectMs;
    log.info('mqtt connected', { clientId });
    void subscribeAll();
  });
  client.on('close', () => {
    subscribed = false;
    if (closing) return;
    setLink('down');
    // mqtt.js reads reconnectPeriod each time it schedules a reconnect: setting it here gives backoff (min·2ⁿ).
    lostSinceConnected++;
    const next = backoffDelay(lostSinceConnected + 1, { initialMs: minReconnectMs, maxMs: maxReconnectMs, maxExponent: 30 });
    client.options.reconnectPeriod = next;
    log.warn('mqtt connection lost; reconnecting', { clientId, retryInMs: next });
  });
  client.on('error', (err) => log.warn('mqtt client error', { clientId, ...errorFields(err) }));
  client.on('message', (topic, payload, packet) => {
    for (const s of subscriptions) {
      for (const levels of s.levels) {
        if (!levelsMatch(levels, topic)) continue;
        s.handler(topic, payload, packet);
        break;
      }
    }
  });

  return {
    clientId,
    isReady: () => client.connected && subscribed,
    linkState: () => link,
    onLinkChange(listener) {
      linkListeners.add(listener);
      return () => linkListeners.delete(listener);
    },
    subscribe(filters, handler) {
      subscriptions.push({ filters, levels: Object.keys(filters).map(filterLevels), handler });
      if (client.connected) void subscribeAll();
    },
    waitUntilReady(timeoutMs) {
      if (client.connected && subscribed) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          readyWaiters.delete(wake);
          resolve(true);
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        readyWaiters.add(wake);
      });
    },
    async publish(topic, payload, publishOptions) {
      if (!client.connected || closing) throw new Error('mqtt not connected');
      await client.publishAsync(topic, payload, { qos: publishOptions.qos, retain: publishOptions.retain ?? false });
    },
    close() {
      // Idempotent: the composition root closes intake first and the connection again on the way out.
      closing = true;
      return (closed ??= client.endAsync());
    },
  };
}

/**
 * MQTT topic-filter matching (`+` one level, `#` the rest). A shared-subscription filter
 * `$share/<group>/<filter>` matches what `<filter>` matches: the broker delivers the plain topic.
 */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filterLevels(filter), topic);
}

/** A filter's levels (a shared subscription's prefix removed); [] for a malformed `$share/` filter (matches nothing). */
function filterLevels(filter: string): string[] {
  if (filter.startsWith('$share/')) {
    const groupEnd = filter.indexOf('/', '$share/'.length);
    if (groupEnd < 0) return [];
    filter = filter.slice(groupEnd + 1);
  }
  return filter.split('/');
}

/** Walks the topic's levels in place (every message of the fleet comes through here: nothing is allocated). */
function levelsMatch(levels: readonly string[], topic: string): boolean {
  if (levels.length === 0) return false;
  let pos = 0; // start of the topic's current level; beyond its length once every level is consumed
  for (const f of levels) {
    if (f === '#') return true;
    if (pos > topic.length) return false;
    let end = topic.indexOf('/', pos);
    if (end < 0) end = topic.length;
    if (f !== '+' && (end - pos !== f.length || !topic.startsWith(f, pos))) return false;
    pos = end + 1;
  }
  return pos > topic.length;
}
