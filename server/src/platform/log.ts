/**
 * The server's logger: pino underneath, `info(msg, fields)` on top (src/shared/logger.ts) so every call site — here,
 * in the desktop's main process and in the simulator — reads the same way.
 * JSON lines by default; pretty only when stdout is a terminal (a human is watching).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { withMessageFirst, type LogFields, type PinoBackedLogger } from '../../../src/shared/logger.js';
import type { LogLevel } from './config.js';

export type { LogFields };

/** The shared Logger, with its pino instance for libraries that take one (Fastify). */
export type Logger = PinoBackedLogger<PinoLogger>;

export interface LoggerOptions {
  level: LogLevel;
  /** defaults to "stdout is a TTY" */
  pretty?: boolean;
  /** where JSON lines go (default stdout; tests read them) */
  destination?: DestinationStream;
}

/** Field names whose values never reach a log line (at the top level and one level down). */
export const REDACTED_FIELDS = [
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'secret',
  'webhookSecret',
  'cookie',
] as const;
const REDACT_PATHS = [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`), 'req.headers.authorization', 'req.headers.cookie'];

export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level: options.level, base: { service: 'fleetdesk-server' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  // pino-pretty as an in-process stream (not a transport): no worker thread to keep alive or shut down.
  const instance = options.destination
    ? pino(base, options.destination)
    : usePretty
      ? pino(base, pretty({ colorize: true, sync: true, ignore: 'pid,hostname,service' }))
      : pino(base);
  return withMessageFirst(instance);
}

/** `err` field for a caught value: message and code, stack only for unexpected errors. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { message: err.message, name: err.name, ...(code === undefined ? {} : { code }), stack: err.stack } };
  }
  return { err: { message: String(err) } };
}

/**
 * Warns at most once per key per window and reports how many were suppressed in between — a flood of bad
 * device messages must not turn into a flood of log lines.
 */
export class RateLimitedWarn {
  private readonly windows = new Map<string, { openedAt: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, msg: string, fields: LogFields = {}): void {
    const now = this.now();
    const window = this.windows.get(key);
    if (window && now - window.openedAt < this.windowMs) {
      window.suppressed += 1;
      return;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.set(key, { openedAt: now, suppressed: 0 });
    this.log.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
}
