/**
 * The one logger call signature of every program (server, desktop main, simulator): `info(msg, fields)`.
 * Underneath is pino, whose own signature is `info(fields, msg)`; `withMessageFirst` adapts a pino instance once for
 * all. It only needs pino's shape, so this module imports nothing (pino itself stays with the Node programs).
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` (component, vehicle, request context). */
  child(fields: LogFields): Logger;
}

/** The part of a pino logger that `withMessageFirst` uses. */
export interface PinoShape<P> {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: LogFields): P;
}

/** A Logger backed by a pino instance, which stays reachable for libraries that take one (Fastify). */
export interface PinoBackedLogger<P> extends Logger {
  child(fields: LogFields): PinoBackedLogger<P>;
  readonly pino: P;
}

export function withMessageFirst<P extends PinoShape<P>>(instance: P): PinoBackedLogger<P> {
  return {
    debug: (msg, fields) => instance.debug(fields ?? {}, msg),
    info: (msg, fields) => instance.info(fields ?? {}, msg),
    warn: (msg, fields) => instance.warn(fields ?? {}, msg),
    error: (msg, fields) => instance.error(fields ?? {}, msg),
    child: (fields) => withMessageFirst(instance.child(fields)),
    pino: instance,
  };
}
