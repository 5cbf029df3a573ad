/**
 * A staff member's role at the desk: the same three for signing in (desktop-api.ts OperatorInfo) and for the replica
 * (what each role may do: the role table, permissions.ts, read by sync-protocol.ts SYNC_ACCESS and REQUEST_CAPABILITY).
 */
export const OPERATOR_ROLES = ['dispatcher', 'support', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
