/** One application error type, shared by every runtime: a stable code, an HTTP status and a cause. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  /** when to try again (seconds; HTTP answers carry it as Retry-After) */
  readonly retryAfterS: number | undefined;
  constructor(code: string, message: string, options: { status?: number; cause?: unknown; retryAfterS?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryAfterS = options.retryAfterS;
  }
}

/** How an error crosses a process boundary (IPC, the console's WebSocket). */
export interface ErrorPayload {
  code: string;
  message: string;
}

export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}
