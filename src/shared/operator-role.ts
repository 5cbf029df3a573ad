/**
 * A staff member's role at the desk: the same three for signing in (desktop-api.ts OperatorInfo) and for the replica
 * (sync-protocol.ts SYNC_ACCESS, REQUEST_ROLES: what the role may read and change).
 */
export const OPERATOR_ROLES = ['dispatcher', 'support', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
