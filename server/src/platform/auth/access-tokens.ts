/**
 * Short-lived access tokens: JWT HS256 (issued with jose, verified with node:crypto). `aud` separates the two account spaces — a customer token is
 * never accepted where a staff token is expected and the other way round — `sub` is the account id, staff tokens
 * carry the role. Verification is local (no database round trip); revocation works through the refresh tokens,
 * so an access token stays valid until it expires (ACCESS_TOKEN_TTL_S, 15 min by default).
 *
 * The signing secret is AUTH_SECRET when configured, else one generated once and kept in `auth_secrets`, so every
 * instance on the same database signs and verifies with the same key.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, webcrypto, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
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
   * The secret imported once as a Web Crypto key for signing: given the raw bytes, jose imports them again for every
   * token it signs.
   */
  private readonly cryptoKey: Promise<webcrypto.CryptoKey>;
  /** …and as a node:crypto key for verifying, on every request with a token (see verify). */
  private readonly hmacKey: KeyObject;

  constructor(
    key: Uint8Array,
    readonly ttlS: number,
  ) {
    this.cryptoKey = webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.cryptoKey.catch(() => undefined); // (a bad key fails each use, not the process)
    this.hmacKey = createSecretKey(key);
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

  /**
   * The principal for a valid token of that kind; null when it is malformed, expired, forged or of the other kind.
   *
   * Verified synchronously with node:crypto instead of jose's Web Crypto path (≈ 35 µs of CPU per token there —
   * argument conversions and a thread-pool job for one HMAC — against ≈ 7 µs; every request with a token pays it).
   * The checks are jose's for `jwtVerify(token, key, { issuer, audience, algorithms: ['HS256'], requiredClaims:
   * ['sub', 'exp'] })`: the HMAC-SHA256 of `header.payload` compared in constant time with the signature as sent
   * (its canonical base64url: no other spelling of the same bytes passes), a JSON header with `alg` HS256 and no
   * `crit` extension (jose accepts none we use), a JSON object payload with this issuer, this audience (or an array
   * holding it), a subject, `exp` a number after now, `nbf` (if any) a number not after now and `iat` (if any) a number.
   */
  async verify(token: string, kind: 'customer'): Promise<CustomerPrincipal | null>;
  async verify(token: string, kind: 'staff'): Promise<StaffPrincipal | null>;
  async verify(token: string, kind: AccountKind): Promise<CustomerPrincipal | StaffPrincipal | null> {
    const payload = this.verifiedPayload(token, kind);
    if (!payload) return null;
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
  }

  /** The claims of a token signed with our key and valid now for `kind`'s audience, else undefined. */
  private verifiedPayload(token: string, kind: AccountKind): Record<string, unknown> | undefined {
    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) >= 0) return undefined;
    const expected = Buffer.from(createHmac('sha256', this.hmacKey).update(token.slice(0, dot2)).digest('base64url'));
    const given = Buffer.from(token.slice(dot2 + 1));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const header = parseJsonObject(token.slice(0, dot1));
    if (!header || header.alg !== 'HS256' || header.crit !== undefined) return undefined;
    const payload = parseJsonObject(token.slice(dot1 + 1, dot2));
    if (!payload || payload.iss !== ISSUER) return undefined;
    const aud = payload.aud;
    if (!(aud === AUDIENCE[kind] || (Array.isArray(aud) && aud.includes(AUDIENCE[kind])))) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= now) return undefined;
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now)) return undefined;
    if (payload.iat !== undefined && typeof payload.iat !== 'number') return undefined;
    return payload;
  }
}

/** A base64url JSON object (undefined for anything else: bad encoding, bad JSON, an array, null). */
function parseJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
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
