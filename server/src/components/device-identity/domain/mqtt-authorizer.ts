/** The access rules and the credential cache, in the shape the embedded broker asks its questions. */
import type { MqttAuthorizer, MqttConnectAttempt, MqttConnectDecision, MqttDenial } from '../../../platform/mqtt/index.js';
import { canPublish, canSubscribe, checkConnect } from './access-rules.js';
import type { CredentialCache, SessionPrincipal } from './credential-cache.js';

const REVOKED: MqttDenial = { reason: 'revoked', disconnect: true };
const TOPIC: MqttDenial = { reason: 'topic' };

export function createMqttAuthorizer(cache: CredentialCache): MqttAuthorizer<SessionPrincipal> {
  return {
    async authenticate(attempt: MqttConnectAttempt): Promise<MqttConnectDecision<SessionPrincipal>> {
      const result = await cache.authenticate(attempt.username, attempt.password);
      if (!result.ok) return result;
      const denial = checkConnect(result.principal, attempt.clientId, attempt.willTopic, (id) => cache.has(id));
      return denial ? { ok: false, reason: denial } : result;
    },
    authorizePublish(principal, topic) {
      if (!cache.isCurrent(principal)) return REVOKED;
      return canPublish(principal, topic) ? null : TOPIC;
    },
    authorizeSubscribe(principal, filter) {
      if (!cache.isCurrent(principal)) return REVOKED;
      return canSubscribe(principal, filter) ? null : TOPIC;
    },
    usernameOf: (principal) => principal.username,
    onRevoked: (listener) => cache.onChange(listener),
  };
}
