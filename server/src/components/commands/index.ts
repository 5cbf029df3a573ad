/**
 * The commands component: the persistent device-command lifecycle (`queued → sent → received → succeeded |
 * failed | expired`, plus `cancelled`). Staff issue commands over HTTP, other components (rentals) through
 * this file; every transition is stored with its transition row and audit entry, announced as
 * `command.transition`, and survives restarts of the server and the broker (all state is in the database).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, RateLimitedWarn, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import type { MqttConnection } from '../../platform/mqtt/index.js';
import { subscribeCommandResults } from './api/command-results.handler.js';
import { commandRoutes } from './api/commands.routes.js';
import { CommandsRepository } from './data/commands.repository.js';
import { TERMINAL_STATUSES, type CommandRecord } from './model.js';
import { CommandDispatcher, type DispatcherTimings } from './domain/command-dispatcher.js';
import { CommandResultProcessor } from './domain/command-results.js';
import { CommandService, type CommandWithTransitions, type IssueCommandInput, type IssueCommandResult } from './domain/command-service.js';
import { CommandTransitions, type CommandsObserver } from './domain/command-transitions.js';

export type { CommandRecord, CommandStatus, CommandParams, TransitionRecord } from './model.js';
export type { IssueCommandInput, IssueCommandResult, CommandWithTransitions } from './domain/command-service.js';
export { isTerminal } from './model.js';
export { commandDocs } from './data/command-docs.js';

export interface CommandsComponent {
  issueCommand(input: IssueCommandInput): Promise<IssueCommandResult>;
  cancelCommand(commandId: string, reason: string, actor: IssueCommandInput['actor']): Promise<CommandRecord>;
  getCommand(commandId: string): Promise<CommandWithTransitions>;
  listVehicleCommands(vehicleId: string, limit?: number): Promise<CommandRecord[]>;
  /** The command once terminal, or its state after `timeoutMs` (check `status`). */
  waitForTerminal(commandId: string, timeoutMs: number): Promise<CommandRecord>;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Runs one dispatch/expiry pass now and waits for pending device results (tests). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface CommandsOptions {
  db: Db;
  mqtt: MqttConnection;
  fleet: { isKnownVehicle(vehicleId: string): boolean; onlineVehicleIds(): Promise<string[]> };
  events: DomainEvents;
  metrics: Registry;
  log: Logger;
  /** shared-subscription group for results ('' = off, e.g. on the embedded broker) */
  sharedGroup?: string;
  timings?: Partial<DispatcherTimings>;
  now?: () => number;
}

export const DEFAULT_TIMINGS: Readonly<DispatcherTimings> = Object.freeze({
  tickMs: 1_000,
  resendMs: 5_000,
  maxResendMs: 60_000,
  publishMarginMs: 1_000,
  resultGraceMs: 10_000,
  onlineRefreshMs: 15_000,
  publishTimeoutMs: 5_000,
});

export async function startCommandsComponent(options: CommandsOptions): Promise<CommandsComponent> {
  const log = options.log.child({ component: 'commands' });
  const now = options.now ?? Date.now;
  const timings: DispatcherTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  timings.tickMs = Math.min(timings.tickMs, timings.resendMs);
  const repo = new CommandsRepository(options.db);
  const observer = createObserver(options.metrics, repo, log);
  const transitions = new CommandTransitions(repo, options.events, observer);
  const dispatcher = new CommandDispatcher(
    {
      repo,
      transitions,
      events: options.events,
      observer,
      log,
      broker: {
        isReady: () => options.mqtt.isReady(),
        publish: (topic, payload) => options.mqtt.publish(topic, payload, { qos: 1, retain: false }),
      },
      onlineVehicleIds: () => options.fleet.onlineVehicleIds(),
      now,
    },
    timings,
  );
  const service = new CommandService(repo, transitions, dispatcher, options.fleet, options.events, observer, now);
  const results = new CommandResultProcessor(repo, transitions, observer, log);

  let stopped = false;
  subscribeCommandResults(options.mqtt, results, observer, () => stopped, options.sharedGroup ?? '');
  await dispatcher.start();
  log.info('command lifecycle started', { resendMs: timings.resendMs, resultGraceMs: timings.resultGraceMs });

  return {
    issueCommand: (input) => service.issue(input),
    cancelCommand: (commandId, reason, actor) => service.cancel(commandId, reason, actor),
    getCommand: (commandId) => service.get(commandId),
    listVehicleCommands: (vehicleId, limit = 50) => service.listForVehicle(vehicleId, limit),
    waitForTerminal: (commandId, timeoutMs) => service.waitForTerminal(commandId, timeoutMs),
    registerRoutes: async (app, prefix) => {
      await app.register(commandRoutes(service, prefix), { prefix });
    },
    async settle() {
      await results.idle();
      await dispatcher.tickNow();
    },
    async stop() {
      stopped = true;
      service.stop();
      await dispatcher.stop();
      await results.idle();
    },
  };
}

function createObserver(metrics: Registry, repo: CommandsRepository, log: Logger): CommandsObserver {
  const issued = new Counter({
    name: `${METRIC_PREFIX}commands_issued_total`,
    help: 'Commands issued, by type',
    labelNames: ['type'],
    registers: [metrics],
  });
  const finished = new Counter({
    name: `${METRIC_PREFIX}commands_finished_total`,
    help: 'Commands that reached a terminal state (on this instance), by status',
    labelNames: ['status'],
    registers: [metrics],
  });
  for (const status of TERMINAL_STATUSES) finished.inc({ status }, 0);
  const published = new Counter({
    name: `${METRIC_PREFIX}command_publishes_total`,
    help: 'Commands handed to the broker, first sends and resends',
    labelNames: ['kind'],
    registers: [metrics],
  });
  const dispatchLatency = new Histogram({
    name: `${METRIC_PREFIX}command_dispatch_latency_seconds`,
    help: 'From issue to the first publish (includes waiting for an offline vehicle)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
    registers: [metrics],
  });
  const resultsReceived = new Counter({
    name: `${METRIC_PREFIX}command_results_received_total`,
    help: 'Command results received from devices',
    registers: [metrics],
  });
  const resultsDropped = new Counter({
    name: `${METRIC_PREFIX}command_results_dropped_total`,
    help: 'Command results dropped (malformed, unknown command, wrong vehicle, repeated, after a terminal state), by reason',
    labelNames: ['reason'],
    registers: [metrics],
  });
  new Gauge({
    name: `${METRIC_PREFIX}commands_open`,
    help: 'Commands not yet terminal (queued, sent, received), all instances',
    registers: [metrics],
    async collect() {
      try {
        this.set(await repo.countOpen());
      } catch (err) {
        log.warn('counting open commands failed', errorFields(err));
      }
    },
  });
  const dropLog = new RateLimitedWarn(log, 10_000);
  return {
    issued: (type) => issued.inc({ type }),
    transitioned(_from, to) {
      if ((TERMINAL_STATUSES as readonly string[]).includes(to)) finished.inc({ status: to });
    },
    published(kind, sinceIssueMs) {
      published.inc({ kind });
      if (sinceIssueMs !== undefined) dispatchLatency.observe(Math.max(0, sinceIssueMs) / 1000);
    },
    resultReceived: () => resultsReceived.inc(),
    resultDropped(reason, context) {
      resultsDropped.inc({ reason });
      // duplicates are expected (QoS 1 redelivery, several instances): counted, not logged
      if (reason !== 'duplicate') dropLog.warn(`command-result:${reason}`, 'command result dropped', { reason, ...context });
    },
  };
}
