/**
 * The mechanics both account spaces share: password login (rate-limited, no user enumeration), sessions
 * (access + refresh token), refresh with rotation, logout. The customers and staff components own their
 * accounts and call this with lookups into their own tables.
 */
import { AppError } from '../../../../src/shared/errors.js';
import type { Db, Queryable } from '../db/index.js';
import { AccessTokens, loadSigningKey, type AccountKind } from './access-tokens.js';
import { LoginThrottle, type LoginThrottleLimits } from './login-throttle.js';
import { PasswordHasher } from './password.js';
import type { Principal } from './principal.js';
import { RefreshTokens } from './refresh-tokens.js';

export type SignedInPrincipal = Exclude<Principal, { kind: 'anonymous' }>;

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** seconds until the access token expires */
  expiresIn: number;
  tokenType: 'Bearer';
}

export interface PasswordAccount {
  passwordHash: string;
  /** inactive accounts cannot log in (a wrong password and an inactive account look the same) */
  active: boolean;
}

/** 429 with the seconds to wait (the route sets Retry-After). */
export class TooManyAttemptsError extends AppError {
  declare readonly retryAfterS: number;
  constructor(retryAfterS: number, detail = `Too many failed logins; try again in ${retryAfterS} s`) {
    super('too_many_attempts', detail, { status: 429, retryAfterS });
  }
}

export interface AuthSettings extends LoginThrottleLimits {
  /** password checks one client (IP) may have running at once on this instance; more wait their turn */
  maxConcurrentPerClient: number;
  /** AUTH_SECRET; undefined = the generated secret kept in the database */
  secret?: string;
  accessTokenTtlS: number;
  refreshTokenTtlDays: number;
}

const HOUSEKEEPING_MS = 3_600_000;
/** logins of one client waiting for a password-check slot (beyond: 429 at once) */
export const MAX_WAITING_PER_CLIENT = 16;

export class AuthService {
  private housekeeping: NodeJS.Timeout | undefined;
  /** password checks running per client IP on this instance */
  private readonly checking = new Map<string, { running: number; waiting: Array<() => void> }>();

  private constructor(
    readonly passwords: PasswordHasher,
    readonly accessTokens: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly throttle: LoginThrottle,
    private readonly maxConcurrentPerClient: number,
  ) {}

  /** `onHousekeepingError` hears about housekeeping failures (expired refresh tokens and login windows are purged hourly). */
  static async create(db: Db, settings: AuthSettings, onHousekeepingError?: (err: unknown) => void): Promise<AuthService> {
    const key = await loadSigningKey(db, settings.secret);
    const service = new AuthService(
      new PasswordHasher(),
      new AccessTokens(key, settings.accessTokenTtlS),
      new RefreshTokens(db, settings.refreshTokenTtlDays),
      new LoginThrottle(db, settings),
      settings.maxConcurrentPerClient,
    );
    service.housekeeping = setInterval(
      () => void service.purgeExpired().catch((err: unknown) => onHousekeepingError?.(err)),
      HOUSEKEEPING_MS,
    );
    service.housekeeping.unref();
    return service;
  }

  /**
   * Checks email + password; resolves with the account or throws 401 `invalid_credentials` / 429
   * `too_many_attempts`. An unknown email costs the same time as a known one (a dummy verification).
   * The attempt is counted before the password is hashed (LoginThrottle.claim), and a client may have only
   * `maxConcurrentPerClient` checks running here at once — the next ones wait their turn, and beyond
   * MAX_WAITING_PER_CLIENT waiting they are answered 429 at once: a flood of slow hashes cannot take the worker.
   */
  async passwordLogin<A extends PasswordAccount>(
    scope: AccountKind,
    email: string,
    password: string,
    ip: string,
    find: (email: string) => Promise<A | null>,
  ): Promise<A> {
    await this.acquireCheck(ip);
    try {
      const claim = await this.throttle.claim(scope, email, ip);
      if (!claim.ok) throw new TooManyAttemptsError(claim.retryAfterS);
      const account = await find(email);
      const ok = account ? await this.passwords.verify(account.passwordHash, password) : await this.passwords.verifyDummy(password);
      if (!account || !ok || !account.active) {
        await this.throttle.confirmFailure(scope, email, ip);
        throw new AppError('invalid_credentials', 'The email or the password is wrong', { status: 401 });
      }
      await this.throttle.recordSuccess(scope, email, ip);
      return account;
    } finally {
      this.releaseCheck(ip);
    }
  }

  /** A slot for one password check of this client: now, after the ones ahead of it, or 429 when too many wait. */
  private async acquireCheck(ip: string): Promise<void> {
    let client = this.checking.get(ip);
    if (!client) this.checking.set(ip, (client = { running: 0, waiting: [] }));
    if (client.running < this.maxConcurrentPerClient) {
      client.running++;
      return;
    }
    if (client.waiting.length >= MAX_WAITING_PER_CLIENT)
      throw new TooManyAttemptsError(1, 'Too many logins at once from this client; try again in 1 s');
    // the releasing check hands its slot over (running stays the same)
    await new Promise<void>((resolve) => client.waiting.push(resolve));
  }

  private releaseCheck(ip: string): void {
    const client = this.checking.get(ip);
    if (!client) return;
    const next = client.waiting.shift();
    if (next) return next();
    client.running--;
    if (client.running === 0) this.checking.delete(ip);
  }

  async startSession(principal: SignedInPrincipal, db?: Queryable): Promise<Session> {
    const refreshToken = await this.refreshTokens.issue(principal.kind, subjectOf(principal), db);
    const { token, expiresIn } = await this.accessTokens.issue(principal);
    return { accessToken: token, refreshToken, expiresIn, tokenType: 'Bearer' };
  }

  /**
   * Rotates the refresh token; `reload` re-reads the account in the same transaction (null = no longer allowed:
   * the family is revoked). 401 `invalid_refresh_token` for anything else, reuse included.
   */
  async refreshSession(
    kind: AccountKind,
    refreshToken: string,
    reload: (tx: Queryable, subjectId: string) => Promise<SignedInPrincipal | null>,
  ): Promise<Session> {
    let principal: SignedInPrincipal | null = null;
    const outcome = await this.refreshTokens.rotate(kind, refreshToken, async (tx, subjectId) => {
      principal = await reload(tx, subjectId);
      return principal !== null;
    });
    if (!outcome.ok || principal === null) {
      const detail =
        !outcome.ok && outcome.reason === 'reused'
          ? 'This refresh token was already used; every session of its family is now revoked'
          : 'The refresh token is not valid';
      throw new AppError('invalid_refresh_token', detail, { status: 401 });
    }
    const { token, expiresIn } = await this.accessTokens.issue(principal);
    return { accessToken: token, refreshToken: outcome.token, expiresIn, tokenType: 'Bearer' };
  }

  logout(kind: AccountKind, refreshToken: string): Promise<void> {
    return this.refreshTokens.revoke(kind, refreshToken);
  }

  /** Ends every session of an account, in the caller's transaction. */
  revokeAll(tx: Queryable, kind: AccountKind, subjectId: string): Promise<void> {
    return this.refreshTokens.revokeSubject(tx, kind, subjectId);
  }

  async purgeExpired(): Promise<void> {
    await this.refreshTokens.purgeExpired();
    await this.throttle.purgeExpired();
  }

  close(): Promise<void> {
    clearInterval(this.housekeeping);
    return this.passwords.close();
  }
}

function subjectOf(principal: SignedInPrincipal): string {
  return principal.kind === 'customer' ? principal.customerId : principal.staffId;
}
