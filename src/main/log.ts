/**
 * The main process's one logger (pino, with the shared `info(msg, fields)` signature of src/shared/logger.ts). Logs
 * go to stderr so that stdout stays free for the few lines other tools parse (e.g. `Fleetdesk console: <url>`).
 * Never log secrets: no MQTT password, no console token.
 */
import { pino } from 'pino';
import { withMessageFirst, type Logger } from '../shared/logger.js';

export type { Logger };

export function createLogger(name: string, level: string = process.env['FLEETDESK_LOG_LEVEL'] ?? 'info'): Logger {
  return withMessageFirst(pino({ name, level }, pino.destination({ fd: 2, sync: false })));
}

/** For tests and callers that want no output. */
export function silentLogger(): Logger {
  return withMessageFirst(pino({ level: 'silent' }));
}
