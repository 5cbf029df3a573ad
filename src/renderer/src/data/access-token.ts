/**
 * The renderer's short-lived access tokens, asked from the host (`auth.getAccessToken`: the host holds the
 * password-derived session and the refresh token, refreshes ahead of expiry). Cached until shortly before they
 * expire; concurrent callers share one host call; `invalidate()` after a 401 asks again next time.
 */
import type { AccessToken } from '../../../shared/desktop-api.js';

export interface TokenSource {
  /**
   * A bearer token, or a rejection (`signed_out`, `server_unreachable`, host link down). With `forOperator`,
   * also rejects (`other_operator`) when someone else is signed in: a replica never syncs with another
   * operator's token (their queued edits would be pushed under the wrong name).
   */
  get(forOperator?: string): Promise<string>;
  invalidate(): void;
}

export class TokenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createTokenSource(fetchToken: () => Promise<AccessToken>, marginMs = 30_000, now: () => number = Date.now): TokenSource {
  let cached: AccessToken | undefined;
  let inflight: Promise<AccessToken> | undefined;
  return {
    async get(forOperator) {
      let t = cached && cached.expiresAt - marginMs > now() ? cached : undefined;
      if (!t) {
        inflight ??= fetchToken().finally(() => (inflight = undefined));
        t = cached = await inflight;
      }
      if (forOperator !== undefined && t.operator.id !== forOperator)
        throw new TokenError('other_operator', `signed in as ${t.operator.name}, not as the owner of this local data`);
      return t.token;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
