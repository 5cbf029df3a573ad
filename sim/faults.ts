/**
 * Faults on demand: the ways real telematics units misbehave, as publish-pipeline middlewares (what the
 * device sends) and a command policy (how it answers commands). The simulation installs them from a
 * `FaultConfig` (library option `faults`, `sim.setFaults(…)`, CLI `--fault name=value`); each middleware is
 * also usable on its own with `sim.use(…)`.
 *
 *   duplicate   the same message twice (same seq, same bytes)
 *   reorder     a message held back and sent right after the vehicle's next one (seqs arrive out of order)
 *   malformed   the payload corrupted in one of MALFORMED_KINDS — each fails the shared decoders with a known reason
 *   skew/drift  the device clock off by a fixed offset and/or drifting (applied to every `ts` and to the expiry check)
 *   command-*   commands failing, ignored (no answer at all) or executed slowly
 *   crash       crash_detected events at a rate per driving vehicle-hour
 *
 * Going offline is not a middleware: `sim.goOffline(id, { lastWill })` / `sim.killConnection(id)`.
 */
import type { DeviceChannel, DropReason } from '../src/shared/device-protocol.js';
import type { Rng } from './prng.js';
import type { OutgoingMessage, PublishMiddleware, PublishPipeline } from './publish-pipeline.js';

export interface FaultConfig {
  /** probability that a message is sent twice */
  duplicate?: number;
  /** probability that a message is held back and sent after the vehicle's next message */
  reorder?: number;
  /** probability that a message's payload is corrupted */
  malformed?: number;
  /** device clock offset of every vehicle, ms (positive: ahead) */
  skewMs?: number;
  /** device clock drift of every vehicle, ms per hour of running (positive: runs fast) */
  driftMsPerHour?: number;
  /** probability that an executable command fails (`failed`, reason `simulated_failure`) */
  commandFail?: number;
  /** probability that a command gets no answer at all (not even `received`) and is not executed */
  commandIgnore?: number;
  /** execution delay between `received` and the outcome, ms (default: 300–800 ms at random) */
  commandDelayMs?: number;
  /** crash_detected events per driving vehicle-hour (default 0.001) */
  crashPerHour?: number;
}

export const MALFORMED_KINDS = ['not_json', 'wrong_types', 'out_of_range', 'vehicle_mismatch', 'huge'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** What the shared decoders (decodeTelemetry, decodeDeviceEvent) answer for each kind of corruption. */
export const MALFORMED_EXPECTED_REASON: Record<MalformedKind, DropReason> = {
  not_json: 'not_json',
  wrong_types: 'schema',
  out_of_range: 'schema',
  vehicle_mismatch: 'topic_mismatch',
  huge: 'too_large',
};

export interface FaultCounters {
  duplicated: number;
  reordered: number;
  malformed: number;
}

/** Channels the message faults touch by default: the device's own data, not its status or command results. */
export const DEFAULT_FAULT_CHANNELS: readonly DeviceChannel[] = ['telemetry', 'events'];

// ------------------------------------------------------------------------------------------------ middlewares

export function duplicateMiddleware(opts: {
  probability: number;
  rng: Rng;
  channels?: readonly DeviceChannel[];
  counters?: FaultCounters;
}): PublishMiddleware {
  const channels = new Set(opts.channels ?? [...DEFAULT_FAULT_CHANNELS, 'command-results']);
  return (msg, next) => {
    next(msg);
    if (channels.has(msg.channel) && opts.rng() < opts.probability) {
      if (opts.counters) opts.counters.duplicated++;
      next(msg);
    }
  };
}

export interface ReorderFault {
  readonly middleware: PublishMiddleware;
  /** sends whatever is held back (at once) and clears the timers */
  flush(): void;
}

/**
 * Holds a message back and sends it right after the same vehicle's next message (so the subscriber sees a
 * higher seq before a lower one); a held message whose vehicle stays silent goes out after `maxHoldMs`.
 */
export function reorderFault(opts: {
  probability: number;
  rng: Rng;
  channels?: readonly DeviceChannel[];
  counters?: FaultCounters;
  maxHoldMs?: number;
}): ReorderFault {
  const channels = new Set(opts.channels ?? DEFAULT_FAULT_CHANNELS);
  const maxHoldMs = opts.maxHoldMs ?? 30_000;
  const held = new Map<string, { msg: OutgoingMessage; next: (m: OutgoingMessage) => void; timer: NodeJS.Timeout }>();
  const release = (vehicleId: string): void => {
    const h = held.get(vehicleId);
    if (!h) return;
    held.delete(vehicleId);
    clearTimeout(h.timer);
    h.next(h.msg);
  };
  const middleware: PublishMiddleware = (msg, next) => {
    if (!channels.has(msg.channel)) return next(msg);
    if (held.has(msg.vehicleId)) {
      next(msg);
      release(msg.vehicleId);
      return;
    }
    if (opts.rng() < opts.probability) {
      if (opts.counters) opts.counters.reordered++;
      const timer = setTimeout(() => release(msg.vehicleId), maxHoldMs);
      timer.unref();
      held.set(msg.vehicleId, { msg, next, timer });
      return;
    }
    next(msg);
  };
  return {
    middleware,
    flush: () => {
      for (const id of [...held.keys()]) release(id);
    },
  };
}

/** Corrupts the payload of a share of messages; the kind is chosen at random among `kinds`. */
export function malformedMiddleware(opts: {
  probability: number;
  rng: Rng;
  kinds?: readonly MalformedKind[];
  channels?: readonly DeviceChannel[];
  counters?: FaultCounters;
  /** called with each corrupted message's kind (tests use it to know what to expect) */
  onMalformed?: (kind: MalformedKind, msg: OutgoingMessage) => void;
}): PublishMiddleware {
  const channels = new Set(opts.channels ?? DEFAULT_FAULT_CHANNELS);
  const kinds = opts.kinds ?? MALFORMED_KINDS;
  if (kinds.length === 0) throw new RangeError('malformed: at least one kind is needed');
  return (msg, next) => {
    if (!channels.has(msg.channel) || !(opts.rng() < opts.probability)) return next(msg);
    const kind = kinds[Math.min(kinds.length - 1, Math.floor(opts.rng() * kinds.length))]!;
    if (opts.counters) opts.counters.malformed++;
    const bad = corrupt(msg, kind);
    opts.onMalformed?.(kind, bad);
    next(bad);
  };
}

/** One corrupted copy of a message (the body is left as it was; the bytes sent are in `payload`). */
export function corrupt(msg: OutgoingMessage, kind: MalformedKind): OutgoingMessage {
  const body = (typeof msg.body === 'object' && msg.body !== null ? msg.body : {}) as Record<string, unknown>;
  let payload: string;
  switch (kind) {
    case 'not_json': {
      const text = JSON.stringify(body);
      payload = text.slice(0, Math.max(1, Math.floor(text.length / 2))); // cut off mid-message, as a flaky modem does
      break;
    }
    case 'wrong_types':
      payload = JSON.stringify({ ...body, seq: String(body.seq), ts: new Date(Number(body.ts) || 0).toISOString() });
      break;
    case 'out_of_range':
      payload = JSON.stringify({ ...body, lat: 123.456789 });
      break;
    case 'vehicle_mismatch':
      payload = JSON.stringify({ ...body, vehicleId: msg.vehicleId === 'veh-99999' ? 'veh-99998' : 'veh-99999' });
      break;
    case 'huge':
      payload = JSON.stringify({ ...body, junk: 'x'.repeat(20 * 1024) });
      break;
  }
  return { ...msg, payload };
}

// ------------------------------------------------------------------------------------------------ commands

/** How the simulated device answers commands (per vehicle or fleet-wide). */
export interface CommandPolicy {
  /** between `received` and the outcome: fixed ms, or [min, max] at random (default [300, 800]) */
  executionDelayMs: number | readonly [number, number];
  /** probability that an executable command fails with reason `simulated_failure` */
  failProbability: number;
  /** probability that a command is neither answered nor executed */
  ignoreProbability: number;
}

export const DEFAULT_COMMAND_POLICY: CommandPolicy = { executionDelayMs: [300, 800], failProbability: 0, ignoreProbability: 0 };

export function assertCommandPolicy(p: Partial<CommandPolicy>): void {
  const d = p.executionDelayMs;
  if (d !== undefined) {
    const [min, max] = typeof d === 'number' ? [d, d] : d;
    if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min && max <= 3_600_000)) {
      throw new RangeError(`executionDelayMs must be 0…3600000 ms, or [min, max] with min ≤ max (got ${JSON.stringify(d)})`);
    }
  }
  for (const key of ['failProbability', 'ignoreProbability'] as const) {
    const v = p[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`${key} must be 0…1 (got ${v})`);
  }
}

// ------------------------------------------------------------------------------------------------ device clocks

/** A device clock's deviation from the real clock: offset + drift × hours since it was set. */
export interface ClockSkew {
  offsetMs: number;
  driftMsPerHour?: number;
}

/** A clock skew as installed: drift counts from `since` (real clock, epoch ms). */
export interface InstalledSkew {
  offsetMs: number;
  driftMsPerHour: number;
  since: number;
}

export function installSkew(skew: ClockSkew | undefined, since: number): InstalledSkew | undefined {
  if (skew && !(Number.isFinite(skew.offsetMs) && Number.isFinite(skew.driftMsPerHour ?? 0))) {
    throw new RangeError(`clock skew must be finite ms (got ${JSON.stringify(skew)})`);
  }
  return skew ? { offsetMs: skew.offsetMs, driftMsPerHour: skew.driftMsPerHour ?? 0, since } : undefined;
}

/** The device clock at real time `realTs`: the real clock plus the skew (none: the real clock). */
export function skewedTime(skew: InstalledSkew | undefined, realTs: number): number {
  if (!skew) return realTs;
  return realTs + skew.offsetMs + (skew.driftMsPerHour * (realTs - skew.since)) / 3_600_000;
}

// ------------------------------------------------------------------------------------------------ installed faults

export const DEFAULT_CRASH_PER_HOUR = 0.001;

export function assertFaultConfig(f: FaultConfig): void {
  for (const key of ['duplicate', 'reorder', 'malformed', 'commandFail', 'commandIgnore'] as const) {
    const p = f[key];
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`faults.${key} must be a probability 0…1 (got ${p})`);
  }
  if (f.commandDelayMs !== undefined) assertCommandPolicy({ executionDelayMs: f.commandDelayMs });
  if (f.crashPerHour !== undefined && !(f.crashPerHour >= 0 && f.crashPerHour <= 3600)) {
    throw new RangeError(`faults.crashPerHour must be 0…3600 (got ${f.crashPerHour})`);
  }
  for (const key of ['skewMs', 'driftMsPerHour'] as const) {
    const ms = f[key];
    if (ms !== undefined && !Number.isFinite(ms)) throw new RangeError(`faults.${key} must be a finite number of ms (got ${ms})`);
  }
}

/**
 * The faults a running simulation has installed from a FaultConfig: the message middlewares in its pipeline,
 * the fleet-wide clock skew and the crash rate. (The command faults become the command policy:
 * `commandPolicyWithFaults`.) One seeded fault stream, apart from the vehicles' streams.
 */
export class InstalledFaults {
  fleetSkew: InstalledSkew | undefined;
  crashPerMs = DEFAULT_CRASH_PER_HOUR / 3_600_000;
  readonly counters: FaultCounters = { duplicated: 0, reordered: 0, malformed: 0 };
  private removeMiddlewares: () => void = () => {};

  constructor(
    private readonly pipeline: Pick<PublishPipeline, 'use'>,
    private readonly rng: Rng,
  ) {}

  /** Replaces what an earlier call installed ({} removes it all); throws a RangeError for a bad value, changing nothing. */
  set(f: FaultConfig, now: number): void {
    assertFaultConfig(f);
    this.removeMessageFaults();
    const removers: Array<() => void> = [];
    const rng = this.rng;
    const counters = this.counters;
    // Order: corrupt, then duplicate (a duplicate of a corrupted message is equally corrupted), then reorder.
    if (f.malformed) removers.push(this.pipeline.use(malformedMiddleware({ probability: f.malformed, rng, counters })));
    if (f.duplicate) removers.push(this.pipeline.use(duplicateMiddleware({ probability: f.duplicate, rng, counters })));
    if (f.reorder) {
      const reorder = reorderFault({ probability: f.reorder, rng, counters });
      const remove = this.pipeline.use(reorder.middleware);
      removers.push(() => {
        remove();
        reorder.flush();
      });
    }
    this.removeMiddlewares = () => {
      for (const r of removers) r();
      this.removeMiddlewares = () => {};
    };
    this.fleetSkew =
      f.skewMs || f.driftMsPerHour ? { offsetMs: f.skewMs ?? 0, driftMsPerHour: f.driftMsPerHour ?? 0, since: now } : undefined;
    this.crashPerMs = (f.crashPerHour ?? DEFAULT_CRASH_PER_HOUR) / 3_600_000;
  }

  /** Takes the message middlewares out (a held-back reordered message is sent); the clock and crash settings stay. */
  removeMessageFaults(): void {
    this.removeMiddlewares();
  }
}

/** The fleet-wide command policy under `f`: its command faults over the configured policy (`configured`), else the default. */
export function commandPolicyWithFaults(
  current: CommandPolicy,
  f: FaultConfig,
  configured: Partial<CommandPolicy> | undefined,
): CommandPolicy {
  return {
    ...current,
    failProbability: f.commandFail ?? configured?.failProbability ?? DEFAULT_COMMAND_POLICY.failProbability,
    ignoreProbability: f.commandIgnore ?? configured?.ignoreProbability ?? DEFAULT_COMMAND_POLICY.ignoreProbability,
    executionDelayMs: f.commandDelayMs ?? configured?.executionDelayMs ?? DEFAULT_COMMAND_POLICY.executionDelayMs,
  };
}

// ------------------------------------------------------------------------------------------------ CLI specs

interface FaultSpecRule {
  key: keyof FaultConfig;
  kind: 'probability' | 'ms' | 'signedMs' | 'rate';
  help: string;
}

/** `--fault name=value` names, in the order the help lists them. */
export const FAULT_SPECS: Record<string, FaultSpecRule> = {
  duplicate: { key: 'duplicate', kind: 'probability', help: 'probability a message is sent twice (same seq)' },
  reorder: { key: 'reorder', kind: 'probability', help: 'probability a message is sent after the next one' },
  malformed: { key: 'malformed', kind: 'probability', help: `probability a payload is corrupted (${MALFORMED_KINDS.join(', ')})` },
  skew: { key: 'skewMs', kind: 'signedMs', help: 'device clock offset of every vehicle, ms (negative: behind)' },
  drift: { key: 'driftMsPerHour', kind: 'signedMs', help: 'device clock drift, ms per hour (negative: slow)' },
  'command-fail': { key: 'commandFail', kind: 'probability', help: 'probability a command fails' },
  'command-ignore': { key: 'commandIgnore', kind: 'probability', help: 'probability a command gets no answer' },
  'command-delay': { key: 'commandDelayMs', kind: 'ms', help: 'command execution delay, ms (default 300–800)' },
  crash: { key: 'crashPerHour', kind: 'rate', help: 'crash_detected events per driving vehicle-hour (default 0.001)' },
};

/** Parses repeated `name=value` specs into a FaultConfig, or one clear error line. */
export function parseFaultSpecs(specs: readonly string[]): { ok: true; faults: FaultConfig } | { ok: false; message: string } {
  const faults: FaultConfig = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    const rule = FAULT_SPECS[name];
    if (!rule) return { ok: false, message: `--fault: unknown fault "${name}" (known: ${Object.keys(FAULT_SPECS).join(', ')})` };
    const raw = eq < 0 ? '' : spec.slice(eq + 1).trim();
    const n = raw === '' ? NaN : Number(raw);
    const fail = (rule: string): { ok: false; message: string } => ({
      ok: false,
      message: `--fault ${name} must be ${rule} (got "${raw}")`,
    });
    switch (rule.kind) {
      case 'probability':
        if (!(n >= 0 && n <= 1)) return fail('a probability from 0 to 1, e.g. ' + name + '=0.05');
        break;
      case 'ms':
        if (!(Number.isInteger(n) && n >= 0 && n <= 3_600_000)) return fail('an integer number of ms from 0 to 3600000');
        break;
      case 'signedMs':
        if (!(Number.isInteger(n) && Math.abs(n) <= 365 * 86_400_000)) return fail('an integer number of ms (at most a year either way)');
        break;
      case 'rate':
        if (!(Number.isFinite(n) && n >= 0 && n <= 3600)) return fail('a rate per hour from 0 to 3600');
        break;
    }
    faults[rule.key] = n;
  }
  return { ok: true, faults };
}
