/** Authentication platform: passwords, tokens, the deny-by-default hook. Components import it from here. */
export type { Principal } from './principal.js';
export { AccessTokens, type AccountKind } from './access-tokens.js';
export {
  AuthService,
  TooManyAttemptsError,
  type AuthSettings,
  type PasswordAccount,
  type Session,
  type SignedInPrincipal,
} from './auth-service.js';
export { installAuthHook, isProtectedPath, PROTECTED_PREFIXES, withRetryAfter } from './auth-hook.js';
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PasswordHasher } from './password.js';
