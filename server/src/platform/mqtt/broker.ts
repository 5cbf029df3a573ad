/**
 * The embedded MQTT broker (Aedes, MQTT 3.1.1) used when no MQTT_URL is configured, so a fresh machine runs
 * the whole platform with no set-up. Production uses an external broker (Mosquitto, EMQX, HiveMQ).
 *
 * Access control is decided by an `MqttAuthorizer` the composition root passes in (the device-identity
 * component implements it; the platform knows no roles or topics). With one:
 * - a CONNECT that fails authentication, or whose client id or last will the account may not use, is refused
 *   with return code 5 "not authorized";
 * - a denied SUBSCRIBE gets failure 0x80 in its SUBACK for that filter;
 * - a denied PUBLISH is acknowledged as usual and dropped (MQTT 3.1.1 §3.3.5: acknowledge or disconnect;
 *   one bad publish does not cost a device its session) — unless the account was revoked or rotated, which
 *   ends the session.
 * Every denial is counted in `fleetdesk_mqtt_auth_denied_total{action,reason}`.
 *
 * Whatever the access control, a client sending a packet larger than `maxPacketBytes` (MQTT_MAX_PACKET_BYTES) is
 * disconnected at the socket before Aedes buffers it (packet-size-guard.ts), counted in
 * `fleetdesk_mqtt_packets_refused_total{reason}`.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { METRIC_PREFIX } from '../metrics.js';
import { hostForUrl } from '../net.js';
import { guardPacketSize } from './packet-size-guard.js';

export interface EmbeddedBroker {
  /** mqtt://host:port (mqtts:// with TLS) clients connect to */
  readonly url: string;
  close(): Promise<void>;
}

export interface MqttConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** topic of the CONNECT's last will, if it has one */
  willTopic: string | undefined;
}

/** Why something was refused: `reason` becomes a metric label (keep the set small); `disconnect` ends the session. */
export interface MqttDenial {
  reason: string;
  disconnect?: boolean;
}

export type MqttConnectDecision<P> = { ok: true; principal: P } | { ok: false; reason: string };

export interface MqttAuthorizer<P = unknown> {
  authenticate(attempt: MqttConnectAttempt): Promise<MqttConnectDecision<P>>;
  /** null = allowed */
  authorizePublish(principal: P, topic: string): MqttDenial | null;
  /** null = allowed */
  authorizeSubscribe(principal: P, filter: string): MqttDenial | null;
  usernameOf(principal: P): string;
  /** Calls `listener` with usernames whose open sessions must end now (revoked, rotated); returns unsubscribe. */
  onRevoked?(listener: (username: string) => void): () => void;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  log: Logger;
  /** absent = no access control (MQTT_AUTH=off: anyone may connect, publish and subscribe) */
  authorizer?: MqttAuthorizer;
  /** where the denial and refused-packet counters are registered (required with an authorizer) */
  metrics?: Registry;
  /** the largest packet a client may send (bytes); a larger one ends its connection before it is buffered */
  maxPacketBytes: number;
  /** TLS (MQTT_TLS_CERT_FILE / MQTT_TLS_KEY_FILE): the broker then speaks only mqtts:// on its port */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { log } = options;
  const aedes = await Aedes.createBroker();
  aedes.on('clientError', (client, err) => log.debug('mqtt client error', { clientId: client.id, error: err.message }));
  aedes.on('connectionError', (_client, err) => log.debug('mqtt connection error', { error: err.message }));
  const disposeAuth = options.authorizer ? installAccessControl(aedes, options.authorizer, options.metrics, log) : () => undefined;

  const refused = new Counter({
    name: `${METRIC_PREFIX}mqtt_packets_refused_total`,
    help: 'MQTT connections the embedded broker cut at the socket, by reason (too_large: a packet over MQTT_MAX_PACKET_BYTES; malformed_length)',
    labelNames: ['reason'],
    registers: options.metrics ? [options.metrics] : [],
  });
  const onConnection = (socket: Socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    aedes.handle(
      guardPacketSize(socket, options.maxPacketBytes, (refusal) => {
        refused.inc({ reason: refusal.reason });
        log.warn('mqtt connection cut: packet refused before buffering', { remote, maxPacketBytes: options.maxPacketBytes, ...refusal });
      }),
    );
  };
  // With TLS the guard sits on the decrypted stream: a handshake that fails never reaches Aedes at all.
  const server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onConnection).on('tlsClientError', (err) =>
        log.debug('mqtt tls handshake failed', { error: err.message }),
      )
    : createServer(onConnection);
  try {
    await listen(server, options.host, options.port);
  } catch (err) {
    disposeAuth();
    await closeAedes(aedes);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${hostForUrl(options.host)}:${port}`;
  log.info('embedded MQTT broker listening', { url, access: options.authorizer ? 'authenticated' : 'open (MQTT_AUTH=off)' });

  return {
    url,
    async close() {
      disposeAuth();
      // Stop accepting first, then let Aedes disconnect every client (which lets server.close() complete).
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAedes(aedes);
      await serverClosed;
    },
  };
}

const NOT_AUTHORIZED = 5;

function installAccessControl(aedes: Aedes, authorizer: MqttAuthorizer, metrics: Registry | undefined, log: Logger): () => void {
  const denied = new Counter({
    name: `${METRIC_PREFIX}mqtt_auth_denied_total`,
    help: 'MQTT operations refused by the embedded broker, by action (connect, publish, subscribe) and reason',
    labelNames: ['action', 'reason'],
    registers: metrics ? [metrics] : [],
  });
  const principals = new WeakMap<Client, unknown>();
  const wills = new WeakMap<Client, string>();
  const sessions = new Map<string, Set<Client>>();
  /** publishes denied by authorizePublish: acknowledged to the client, never routed */
  const dropped = new WeakSet<object>();

  aedes.preConnect = (client, packet, callback) => {
    if (packet.will?.topic !== undefined) wills.set(client, packet.will.topic);
    callback(null, true);
  };

  aedes.authenticate = (client, username, password, done) => {
    const refuse = (reason: string) => {
      denied.inc({ action: 'connect', reason });
      // never the password; the username helps an operator find a misconfigured device
      log.debug('mqtt connect refused', { clientId: client.id, username, reason });
      done(Object.assign(new Error('not authorized'), { returnCode: NOT_AUTHORIZED }), false);
    };
    authorizer.authenticate({ clientId: client.id, username, password, willTopic: wills.get(client) }).then(
      (decision) => {
        if (!decision.ok) return refuse(decision.reason);
        principals.set(client, decision.principal);
        done(null, true);
      },
      (err: unknown) => {
        log.warn('mqtt authentication failed unexpectedly', {
          clientId: client.id,
          error: err instanceof Error ? err.message : String(err),
        });
        refuse('error');
      },
    );
  };

  aedes.authorizePublish = (client, packet, callback) => {
    // client is null only for wills the broker publishes on its own behalf (already checked at CONNECT)
    if (!client) return callback(null);
    const principal = principals.get(client);
    const denial =
      principal === undefined ? { reason: 'unauthenticated', disconnect: true } : authorizer.authorizePublish(principal, packet.topic);
    if (!denial) return callback(null);
    denied.inc({ action: 'publish', reason: denial.reason });
    log.debug('mqtt publish denied', { clientId: client.id, topic: packet.topic, reason: denial.reason });
    if (denial.disconnect) return callback(new Error(`publish denied: ${denial.reason}`));
    dropped.add(packet);
    callback(null);
  };

  // Aedes acknowledges an authorized publish and then routes it with broker.publish: a packet marked as
  // dropped is acknowledged (QoS 1/2 clients do not retry it forever) and goes no further, not even retained.
  const route = aedes.publish.bind(aedes) as (packet: object, client: unknown, done?: (err?: Error) => void) => void;
  (aedes as unknown as { publish: typeof route }).publish = (packet, client, done) => {
    if (dropped.has(packet)) {
      const callback = typeof client === 'function' ? (client as (err?: Error) => void) : done;
      return callback?.();
    }
    route(packet, client, done);
  };

  aedes.authorizeSubscribe = (client, subscription, callback) => {
    const principal = principals.get(client);
    const denial = principal === undefined ? { reason: 'unauthenticated' } : authorizer.authorizeSubscribe(principal, subscription.topic);
    if (!denial) return callback(null, subscription);
    denied.inc({ action: 'subscribe', reason: denial.reason });
    log.debug('mqtt subscribe denied', { clientId: client.id, filter: subscription.topic, reason: denial.reason });
    // null negates this one filter: SUBACK carries 0x80 for it, the session stays up
    callback(null, null);
  };

  aedes.on('clientReady', (client) => {
    const principal = principals.get(client);
    if (principal === undefined) return;
    const username = authorizer.usernameOf(principal);
    let set = sessions.get(username);
    if (!set) sessions.set(username, (set = new Set()));
    set.add(client);
  });
  aedes.on('clientDisconnect', (client) => {
    const principal = principals.get(client);
    if (principal === undefined) return;
    const username = authorizer.usernameOf(principal);
    const set = sessions.get(username);
    set?.delete(client);
    if (set?.size === 0) sessions.delete(username);
  });

  const unsubscribe =
    authorizer.onRevoked?.((username) => {
      for (const client of sessions.get(username) ?? []) {
        log.info('mqtt session ended: credentials revoked or rotated', { clientId: client.id, username });
        client.close();
      }
    }) ?? (() => undefined);
  return () => {
    unsubscribe();
    sessions.clear();
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}
