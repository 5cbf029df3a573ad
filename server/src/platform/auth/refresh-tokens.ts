/**
 * Refresh tokens: 32 random bytes (base64url), stored only as their sha256. Every refresh rotates the token (the
 * old one is marked rotated, a new one joins the same family); presenting a rotated or revoked token again means
 * it was copied, so the whole family is revoked and every holder must log in again (OAuth 2.0 Security BCP,
 * "refresh token rotation"). Each token lives `ttlDays` from its issue.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/index.js';
import type { AccountKind } from './access-tokens.js';

export type RotateOutcome =
  { ok: true; subjectId: string; token: string } | { ok: false; reason: 'unknown' | 'expired' | 'reused' | 'revoked' | 'wrong_kind' };

const TOKEN_BYTES = 32;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class RefreshTokens {
  constructor(
    private readonly db: Db,
    private readonly ttlDays: number,
  ) {}

  /** A new family (a login). */
  issue(kind: AccountKind, subjectId: string, db: Queryable = this.db): Promise<string> {
    return this.insert(db, kind, subjectId, randomUUID());
  }

  /**
   * Exchanges `token` for a new one in the same family. `stillAllowed(subjectId)` re-checks the account (inactive
   * staff, deleted customers) inside the same transaction; a refusal revokes the family.
   */
  async rotate(
    kind: AccountKind,
    token: string,
    stillAllowed: (tx: Queryable, subjectId: string) => Promise<boolean>,
  ): Promise<RotateOutcome> {
    const hash = hashRefreshToken(token);
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{
        family_id: string;
        subject_kind: string;
        subject_id: string;
        expired: boolean;
        rotated: boolean;
        revoked: boolean;
      }>(
        `select family_id, subject_kind, subject_id, expires_at <= now() as expired, rotated_at is not null as rotated, revoked_at is not null as revoked
           from refresh_tokens where token_hash = $1 for update`,
        [hash],
      );
      const row = rows[0];
      if (!row) return { ok: false, reason: 'unknown' } as const;
      if (row.subject_kind !== kind) return { ok: false, reason: 'wrong_kind' } as const;
      if (row.rotated || row.revoked) {
        // Reuse of a spent token: whoever holds the family's live token may be an attacker — end it for everyone.
        await revokeFamily(tx, row.family_id);
        return { ok: false, reason: row.revoked && !row.rotated ? 'revoked' : 'reused' } as const;
      }
      if (row.expired) return { ok: false, reason: 'expired' } as const;
      if (!(await stillAllowed(tx, row.subject_id))) {
        await revokeFamily(tx, row.family_id);
        return { ok: false, reason: 'revoked' } as const;
      }
      await tx.query('update refresh_tokens set rotated_at = now() where token_hash = $1', [hash]);
      const next = await this.insert(tx, kind, row.subject_id, row.family_id);
      return { ok: true, subjectId: row.subject_id, token: next } as const;
    });
  }

  /** Logout: ends the token's family (no error when unknown, so logout reveals nothing). */
  async revoke(kind: AccountKind, token: string): Promise<void> {
    await this.db.query(
      `update refresh_tokens set revoked_at = now()
        where revoked_at is null and family_id = (select family_id from refresh_tokens where token_hash = $1 and subject_kind = $2)`,
      [hashRefreshToken(token), kind],
    );
  }

  /** Ends every session of an account (e.g. a deactivated staff member). */
  async revokeSubject(tx: Queryable, kind: AccountKind, subjectId: string): Promise<void> {
    await tx.query('update refresh_tokens set revoked_at = now() where subject_kind = $1 and subject_id = $2 and revoked_at is null', [
      kind,
      subjectId,
    ]);
  }

  /** Drops tokens expired for more than a day (housekeeping). */
  async purgeExpired(): Promise<number> {
    const { rowCount } = await this.db.query(`delete from refresh_tokens where expires_at < now() - interval '1 day'`);
    return rowCount;
  }

  private async insert(db: Queryable, kind: AccountKind, subjectId: string, familyId: string): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    await db.query(
      `insert into refresh_tokens (token_hash, family_id, subject_kind, subject_id, expires_at)
       values ($1, $2, $3, $4, now() + make_interval(days => $5::int))`,
      [hashRefreshToken(token), familyId, kind, subjectId, this.ttlDays],
    );
    return token;
  }
}

async function revokeFamily(tx: Queryable, familyId: string): Promise<void> {
  await tx.query('update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null', [familyId]);
}
