/**
 * The operator's staff session, held by the host (Electron main process or the console host) — never by the
 * renderer:
 * - `POST /ops/v1/auth/login {email, password}` → `{accessToken, refreshToken, expiresIn, staff}`; the password
 *   is used for that one call and not kept (except the FLEETDESK_STAFF_* auto sign-in of demo/test set-ups);
 * - `POST /ops/v1/auth/refresh {refreshToken}` → a new access token (and, when the server rotates them, a new
 *   refresh token), ahead of expiry on a timer, so `accessToken()` is almost always answered from memory;
 * - the renderer asks `accessToken()` for short-lived bearer tokens for its own requests (replica sync, staff
 *   API reads), the server link for its ops calls.
 * Losing the server is not losing the session: a refresh that cannot reach the server keeps the session, says
 * `offline`, and retries with backoff; only the server refusing the refresh token ends it (then the auto
 * sign-in credentials are tried, if any). A `vault` (Electron: the OS keychain via safeStorage) keeps the
 * refresh token across restarts, so the desktop opens signed in even with the server down.
 */
import type { AccessToken, AuthState, OperatorInfo } from '../../shared/desktop-api.js';
import { OPERATOR_ROLES, type OperatorRole } from '../../shared/operator-role.js';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { desktopRetryDelay, type BackoffOptions } from './backoff.js';

export const LOGIN_PATH = '/ops/v1/auth/login';
export const REFRESH_PATH = '/ops/v1/auth/refresh';
export const LOGOUT_PATH = '/ops/v1/auth/logout';

/** Where a session survives a restart (encrypted by the caller); never holds a password. */
export interface SessionVault {
  load(): Promise<StoredSession | undefined>;
  save(session: StoredSession | undefined): Promise<void>;
}
export interface StoredSession {
  refreshToken: string;
  operator: OperatorInfo;
}

export interface StaffSessionOptions {
  serverUrl: string;
  logger: Logger;
  /** demo / tests: sign in by itself with these, and again whenever the session ends (not after sign-out) */
  autoSignIn?: { email: string; password: string };
  vault?: SessionVault;
  onChange?: (state: AuthState) => void;
  /** an access token is refreshed when it has less than this left (default 60 s, at most a fifth of its life) */
  refreshMarginMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Session {
  operator: OperatorInfo;
  refreshToken: string;
  access?: { token: string; expiresAt: number; lifetimeMs: number };
}

/** Thrown when the server cannot be reached (network, timeout, 5xx): the session, if any, is kept. */
class Unreachable extends Error {}

const EMAIL = /^[^\s@]{1,200}@[^\s@]{1,200}$/;

export class StaffSession {
  private session: Session | undefined;
  private offline = false;
  private error: string | undefined;
  private autoSignIn: StaffSessionOptions['autoSignIn'];
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private refreshing: Promise<void> | undefined;
  private running = false;
  /** bumped on sign-in/sign-out so a refresh that was in flight cannot resurrect an old session */
  private generation = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: StaffSessionOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.autoSignIn = options.autoSignIn;
  }

  /** Restores a stored session (refreshing it in the background) or auto-signs in; never waits for the server. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const stored = await this.options.vault?.load().catch((err: unknown) => {
      this.options.logger.warn('could not read the stored staff session; signing in again', { err: (err as Error).message });
      return undefined;
    });
    if (stored && isOperator(stored.operator) && typeof stored.refreshToken === 'string' && !this.session) {
      this.session = { operator: stored.operator, refreshToken: stored.refreshToken };
      this.emit();
    }
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  state(): AuthState {
    const s: AuthState = { status: this.session ? 'signed_in' : 'signed_out' };
    if (this.session) s.operator = { ...this.session.operator };
    if (this.offline) s.offline = true;
    if (this.error) s.error = this.error;
    if (this.autoSignIn) s.autoSignIn = true;
    return s;
  }

  async signIn(email: string, password: string): Promise<AuthState> {
    if (
      typeof email !== 'string' ||
      typeof password !== 'string' ||
      !EMAIL.test(email.trim()) ||
      password.length === 0 ||
      password.length > 1000
    ) {
      throw new AppError('bad_request', 'enter your e-mail address and password', { status: 400 });
    }
    const generation = ++this.generation;
    let body: LoginAnswer;
    try {
      body = await this.post<LoginAnswer>(LOGIN_PATH, { email: email.trim(), password });
    } catch (err) {
      if (err instanceof Unreachable) {
        this.setOffline(true);
        throw new AppError('server_unreachable', `the Fleetdesk server is unreachable (${err.message}); try again when it is back`, {
          status: 503,
        });
      }
      throw err;
    }
    if (generation !== this.generation) throw new AppError('superseded', 'another sign-in or sign-out happened meanwhile', { status: 409 });
    this.adopt(body, email.trim());
    this.options.logger.info('staff signed in', { staffId: this.session!.operator.id, role: this.session!.operator.role });
    return this.state();
  }

  async signOut(): Promise<AuthState> {
    const ended = this.session;
    this.generation += 1;
    this.session = undefined;
    this.error = undefined;
    this.offline = false;
    // An explicit sign-out is not undone by the auto sign-in.
    this.autoSignIn = undefined;
    clearTimeout(this.timer);
    await this.options.vault?.save(undefined).catch(() => undefined);
    this.emit();
    // Best effort: tell the server to revoke the refresh token (an older server may not have the route).
    if (ended) this.post(LOGOUT_PATH, { refreshToken: ended.refreshToken }).catch(() => undefined);
    return this.state();
  }

  /** A bearer token valid for a while yet (refreshing first when it is close to expiry). */
  async accessToken(): Promise<AccessToken> {
    if (!this.session) throw new AppError('signed_out', 'not signed in', { status: 401 });
    if (!this.fresh(this.session)) await this.refresh();
    const s = this.session;
    if (!s?.access || s.access.expiresAt <= this.now()) {
      if (!s) throw new AppError('signed_out', this.error ?? 'not signed in', { status: 401 });
      throw new AppError('server_unreachable', 'the session cannot be refreshed while the server is unreachable', { status: 503 });
    }
    return { token: s.access.token, expiresAt: s.access.expiresAt, operator: { ...s.operator } };
  }

  /** `authorization` header for the host's own server calls, or undefined when signed out / unrefreshable. */
  async authHeaders(): Promise<Record<string, string> | undefined> {
    try {
      return { authorization: `Bearer ${(await this.accessToken()).token}` };
    } catch {
      return undefined;
    }
  }

  /** The server answered 401 to a token it gave us (revoked, server restarted with new keys): refresh now. */
  invalidateAccessToken(): void {
    if (this.session) delete this.session.access;
  }

  // ------------------------------------------------------------------------------------------------ internals

  private fresh(s: Session): boolean {
    if (!s.access) return false;
    const margin = Math.min(this.options.refreshMarginMs ?? 60_000, s.access.lifetimeMs / 5);
    return s.access.expiresAt - margin > this.now();
  }

  /** Single flight: concurrent callers share one refresh. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const s = this.session;
    if (!s) return;
    const generation = this.generation;
    try {
      const body = await this.post<LoginAnswer>(REFRESH_PATH, { refreshToken: s.refreshToken });
      if (generation !== this.generation || this.session !== s) return;
      this.adopt(body, s.operator.email, s);
    } catch (err) {
      if (generation !== this.generation || this.session !== s) return;
      if (err instanceof Unreachable) {
        this.setOffline(true);
        this.attempts += 1;
        this.schedule(desktopRetryDelay(this.attempts, this.options.backoff));
        return;
      }
      // The server refused the refresh token: this session is over.
      this.options.logger.info('staff session ended by the server', { staffId: s.operator.id, reason: (err as Error).message });
      this.session = undefined;
      this.offline = false;
      this.error = 'Your session has expired — sign in again.';
      await this.options.vault?.save(undefined).catch(() => undefined);
      this.emit();
      if (this.autoSignIn) this.schedule(0);
    }
  }

  private adopt(body: LoginAnswer, email: string, previous?: Session): void {
    const token = typeof body?.accessToken === 'string' ? body.accessToken : undefined;
    const expiresIn = Number(body?.expiresIn);
    if (!token || !Number.isFinite(expiresIn) || expiresIn <= 0)
      throw new AppError('bad_answer', 'the server sent no usable access token', { status: 502 });
    const staff = body.staff ?? previous?.operator;
    const role = (staff as { role?: unknown } | undefined)?.role;
    if (!staff || typeof staff.id !== 'string' || !(OPERATOR_ROLES as readonly unknown[]).includes(role)) {
      throw new AppError('bad_answer', 'the server sent no staff identity', { status: 502 });
    }
    const operator: OperatorInfo = {
      id: staff.id,
      name: typeof staff.name === 'string' && staff.name ? staff.name : staff.id,
      role: role as OperatorRole,
      email,
    };
    const refreshToken = typeof body.refreshToken === 'string' && body.refreshToken ? body.refreshToken : previous?.refreshToken;
    if (!refreshToken) throw new AppError('bad_answer', 'the server sent no refresh token', { status: 502 });
    const lifetimeMs = expiresIn * 1000;
    const changed = !previous || previous.refreshToken !== refreshToken || !sameOperator(previous.operator, operator);
    this.session = { operator, refreshToken, access: { token, expiresAt: this.now() + lifetimeMs, lifetimeMs } };
    const wasOffline = this.offline;
    const hadError = this.error !== undefined;
    this.offline = false;
    this.error = undefined;
    this.attempts = 0;
    if (changed)
      void this.options.vault
        ?.save({ refreshToken, operator })
        .catch((err: unknown) => this.options.logger.warn('could not store the staff session', { err: (err as Error).message }));
    if (changed || wasOffline || hadError) this.emit();
    // Refresh ahead of expiry, so the renderer's requests never wait for it.
    this.schedule(Math.max(1_000, lifetimeMs - Math.min(this.options.refreshMarginMs ?? 60_000, lifetimeMs / 5) - 1_000));
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    if (this.session) return this.refresh();
    const creds = this.autoSignIn;
    if (!creds) return;
    try {
      await this.signIn(creds.email, creds.password);
    } catch (err) {
      const code = (err as AppError).code;
      if (code === 'invalid_credentials' || code === 'bad_request') {
        this.options.logger.error('FLEETDESK_STAFF_EMAIL / FLEETDESK_STAFF_PASSWORD were refused by the server; sign in by hand');
        this.autoSignIn = undefined;
        this.error = 'The configured staff account was refused — sign in by hand.';
        this.emit();
        return;
      }
      this.attempts += 1;
      this.schedule(desktopRetryDelay(this.attempts, this.options.backoff));
    }
  }

  private setOffline(offline: boolean): void {
    if (this.offline === offline) return;
    this.offline = offline;
    this.emit();
  }

  private emit(): void {
    try {
      this.options.onChange?.(this.state());
    } catch (err) {
      this.options.logger.error('auth listener failed', { err });
    }
  }

  /** POST JSON; Unreachable for network errors, timeouts and 5xx; AppError with the server's code otherwise. */
  private async post<T>(path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchImpl(new URL(path, this.options.serverUrl).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new Unreachable(describe(err));
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 500) throw new Unreachable(`HTTP ${res.status}`);
    if (!res.ok) {
      const problem = (json ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
      const code =
        res.status === 429
          ? 'rate_limited'
          : res.status === 401
            ? 'invalid_credentials'
            : typeof problem.code === 'string'
              ? problem.code
              : `http_${res.status}`;
      const message =
        res.status === 401
          ? 'wrong e-mail address or password'
          : res.status === 429
            ? `too many attempts; try again ${res.headers.get('retry-after') ? `in ${res.headers.get('retry-after')} s` : 'later'}`
            : typeof problem.detail === 'string'
              ? problem.detail
              : typeof problem.title === 'string'
                ? problem.title
                : `HTTP ${res.status}`;
      throw new AppError(code, message, { status: res.status });
    }
    return json as T;
  }
}

interface LoginAnswer {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
  staff?: { id: string; name?: string; role: string; email?: string };
}

function isOperator(x: unknown): x is OperatorInfo {
  const o = x as Partial<OperatorInfo> | undefined;
  return (
    !!o &&
    typeof o.id === 'string' &&
    typeof o.name === 'string' &&
    typeof o.email === 'string' &&
    (OPERATOR_ROLES as readonly unknown[]).includes(o.role)
  );
}

function sameOperator(a: OperatorInfo, b: OperatorInfo): boolean {
  return a.id === b.id && a.name === b.name && a.role === b.role && a.email === b.email;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'request timed out';
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ? `${err.message}: ${cause.code}` : err.message;
  }
  return String(err);
}
