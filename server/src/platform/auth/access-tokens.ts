/**
 * Short-lived access tokens: JWT HS256 (jose). `aud` separates the two account spaces — a customer token is
 * never accepted where a staff token is expected and the other way round — `sub` is the account id, staff tokens
 * carry the role. Verification is local (no database round trip); revocation works through the refresh tokens,
 * so an access token stays valid until it expires (ACCESS_TOKEN_TTL_S, 15 min by default).
 *
 * The signing secret is AUTH_SECRET when configured, else one generated once and kept in `auth_secrets`, so every
 * instance on the same database signs and verifies with the same key.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from '../db/index.js';
import { STAFF_ROLES } from '../http/route-config.js';
import type { Principal } from './principal.js';

export type AccountKind = 'customer' | 'staff';
type StaffPrincipal = Extract<Principal, { kind: 'staff' }>;
type CustomerPrincipal = Extract<Principal, { kind: 'customer' }>;

const ISSUER = 'fleetdesk';
const AUDIENCE: Record<AccountKind, string> = { customer: 'fleetdesk:customer', staff: 'fleetdesk:staff' };
const SECRET_NAME = 'access_token_hs256';

export class AccessTokens {
  /**
   * The secret imported once as a Web Crypto key: given the raw bytes, jose imports them again for every token it
   * signs or verifies (a few per cent of a reservation's server CPU in bench:api's profile).
   */
  private readonly cryptoKey: Promise<webcrypto.CryptoKey>;

  constructor(
    key: Uint8Array,
    readonly ttlS: number,
  ) {
    this.cryptoKey = webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.cryptoKey.catch(() => undefined); // (a bad key fails each use, not the process)
  }

  async issue(principal: CustomerPrincipal | StaffPrincipal): Promise<{ token: string; expiresIn: number }> {
    const kind: AccountKind = principal.kind;
    const subject = principal.kind === 'customer' ? principal.customerId : principal.staffId;
    const claims = principal.kind === 'staff' ? { role: principal.role } : {};
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE[kind])
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .sign(await this.cryptoKey);
    return { token, expiresIn: this.ttlS };
  }

  /** The principal for a valid token of that kind; null when it is malformed, expired, forged or of the other kind. */
  async verify(token: string, kind: 'customer'): Promise<CustomerPrincipal | null>;
  async verify(token: string, kind: 'staff'): Promise<StaffPrincipal | null>;
  async verify(token: string, kind: AccountKind): Promise<CustomerPrincipal | StaffPrincipal | null> {
    try {
      const { payload } = await jwtVerify(token, await this.cryptoKey, {
        issuer: ISSUER,
        audience: AUDIENCE[kind],
        algorithms: ['HS256'],
        requiredClaims: ['sub', 'exp'],
      });
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub === '') return null;
      if (kind === 'customer') return { kind: 'customer', customerId: sub };
      const role = payload.role;
      if (typeof role !== 'string' || !(STAFF_ROLES as readonly string[]).includes(role)) return null;
      return {
        kind: 'staff',
        staffId: sub,
        role: role as StaffPrincipal['role'],
        ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
      };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }
}

/** AUTH_SECRET (UTF-8) when set; else the shared generated secret from the database (created by the first instance). */
export async function loadSigningKey(db: Queryable, configured: string | undefined): Promise<Uint8Array> {
  if (configured !== undefined) return new TextEncoder().encode(configured);
  await db.query('insert into auth_secrets (name, secret) values ($1, $2) on conflict (name) do nothing', [
    SECRET_NAME,
    randomBytes(32).toString('base64'),
  ]);
  const { rows } = await db.query<{ secret: string }>('select secret from auth_secrets where name = $1', [SECRET_NAME]);
  return Buffer.from(rows[0]!.secret, 'base64');
}
