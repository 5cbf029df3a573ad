/**
 * A customer app's HTTP client of the public API (`/v1`, server/README.md "Customers", "Bookings", "Rentals"):
 * JSON in and out, problem+json errors read into `code`, `Retry-After` honoured by the caller, the access token
 * refreshed once on a 401. Never throws for an HTTP answer; a network failure or timeout is status 0.
 */

export interface ApiAnswer<T = Record<string, unknown>> {
  /** HTTP status; 0 = no answer (connection refused, reset, timeout) */
  status: number;
  body: T;
  /** problem+json `code` of an error answer */
  code: string | undefined;
  /** `Retry-After` of a 429/503/409 answer, ms */
  retryAfterMs: number | undefined;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
}

export interface RequestOptions {
  body?: unknown;
  /** sent as `Idempotency-Key` */
  idempotencyKey?: string;
}

const REQUEST_TIMEOUT_MS = 60_000;

export class CustomerApi {
  session: Session | undefined;

  constructor(private readonly baseUrl: string) {}

  /** An unauthenticated call (sign-up, login, search). */
  async publicCall<T = Record<string, unknown>>(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer<T>> {
    return this.send<T>(method, path, undefined, options);
  }

  /** A signed-in call; on 401 the session is refreshed once and the call repeated. */
  async call<T = Record<string, unknown>>(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer<T>> {
    const first = await this.send<T>(method, path, this.session?.accessToken, options);
    if (first.status !== 401 || !this.session) return first;
    if (!(await this.refresh())) return first;
    return this.send<T>(method, path, this.session.accessToken, options);
  }

  private async refresh(): Promise<boolean> {
    const res = await this.send<Session>('POST', '/v1/auth/refresh', undefined, { body: { refreshToken: this.session!.refreshToken } });
    if (res.status !== 200) return false;
    this.session = { accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
    return true;
  }

  private async send<T>(method: string, path: string, token: string | undefined, options: RequestOptions): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch {
      return { status: 0, body: {} as T, code: 'network_error', retryAfterMs: undefined };
    }
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = { text };
    }
    const code = res.status >= 400 ? ((body as { code?: unknown }).code as string | undefined) : undefined;
    return { status: res.status, body: body as T, code, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
  }
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
