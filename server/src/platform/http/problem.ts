/**
 * Errors as RFC 9457 problem details (`application/problem+json`). `type` is a stable URN per error code, so
 * clients branch on it (or on the `code` extension member), never on the human-readable `title`/`detail`.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../../src/shared/errors.js';
import { errorFields, type Logger } from '../log.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
}

export function problemType(code: string): string {
  return `urn:fleetdesk:problem:${code}`;
}

export function problem(status: number, code: string, detail?: string, instance?: string): Problem {
  return {
    type: problemType(code),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    code,
    ...(detail ? { detail } : {}),
    ...(instance ? { instance } : {}),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  // 503 is always "try again shortly" here (database busy, a dependency down): say when
  if (body.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/**
 * Maps any thrown value to a problem; only 500s are logged as errors (502–504 as warnings), and their details never reach the client: a 500
 * is always `internal` with a fixed sentence (its code and message go to the log); 502–504 keep the sentence written
 * for the client (retry advice; never an underlying error's text, which stays in the logged cause).
 */
export function toProblem(err: unknown, request: FastifyRequest, log: Logger): Problem {
  const instance = request.url;
  if (err instanceof AppError) {
    // a 500 is our fault: an error with its stack. 502–504 are a dependency's (a car without reception, the
    // database or the payment provider busy): said to the client, logged as a warning with its cause, no stack.
    if (err.status === 500) log.error('request failed', { reqId: request.id, code: err.code, ...errorFields(err), cause: causeOf(err) });
    else if (err.status > 500)
      log.warn('request answered with a dependency failure', {
        reqId: request.id,
        status: err.status,
        code: err.code,
        detail: err.message,
        cause: causeOf(err),
      });
    if (err.status === 500) return problem(500, 'internal', INTERNAL_DETAIL, instance);
    return problem(err.status, err.code, err.message, instance);
  }
  const fastifyErr = err as Partial<FastifyError>;
  if (fastifyErr.validation) return problem(400, 'validation', fastifyErr.message, instance);
  const status = fastifyErr.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem(status, (fastifyErr.code ?? 'bad_request').toLowerCase(), fastifyErr.message, instance);
  }
  log.error('request failed', { reqId: request.id, method: request.method, url: request.url, ...errorFields(err) });
  return problem(500, 'internal', INTERNAL_DETAIL, instance);
}

const INTERNAL_DETAIL = 'An unexpected error occurred.';

function causeOf(err: Error): string | undefined {
  return err.cause instanceof Error ? err.cause.message : err.cause === undefined ? undefined : String(err.cause);
}
