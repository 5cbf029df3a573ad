/**
 * The staff API's answers the evidence view reads (`GET /ops/v1/rentals/{id}`, `…/end-check`), as far as it reads
 * them: the server declares them in its route schemas (server/src/components/rentals/api/rentals.schema.ts).
 */
import type { RentalPrice } from '../../../../shared/sync-protocol.js';

export interface EvidenceRental {
  rentalId: string;
  status: 'active' | 'ended';
  customerId: string;
  vehicleId: string;
  source: { kind: 'reservation' | 'booking'; id: string } | null;
  startedAt: string;
  endedAt: string | null;
  returnBy: string | null;
  totalCents: number | null;
  currency: string | null;
  unlockCommandId: string | null;
  lockCommandId: string | null;
  paymentId: string | null;
  endedBy: string | null;
  endReason: string | null;
}

export interface PaymentOperation {
  operationId: string;
  kind: 'authorize' | 'capture' | 'void' | 'refund';
  amountCents: number;
  currency: string;
  status: 'pending' | 'in_flight' | 'succeeded' | 'failed';
  attempts: number;
  lastError: string | null;
  createdBy: string;
  reason: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface ApiCommand {
  commandId: string;
  vehicleId?: string;
  type: string;
  status: string;
  reason: string;
  issuedBy: string;
  createdAt: number;
  expiresAt?: number;
  finishedAt: number | null;
  lastResultReason: string | null;
  transitions: Array<{ from: string | null; to: string; at: number; detail: string | null; by?: string | null }>;
}

export interface DamageReport {
  reportId: string;
  text: string;
  photos: Array<{ index: number; contentType: string; bytes: number }>;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}

export interface RentalEvidenceDetail {
  rental: EvidenceRental;
  price: RentalPrice | null;
  payments: {
    held: number;
    captured: number;
    refunded: number;
    currency: string;
    status: string;
    operations: PaymentOperation[];
  } | null;
  evidence: {
    commands: ApiCommand[];
    damageReports: DamageReport[];
    audit: AuditEntry[];
    endAttempts: EndAttempt[];
    /** starts of its reservation or booking that failed before this one (a server before them: absent) */
    startAttempts?: StartAttempt[];
  };
}

/** A start that failed: the reservation kept, the hold voided (`failure`: src/shared/start-failures.ts). */
export interface StartAttempt {
  sourceId: string;
  attemptId: string;
  at: number;
  failure: string;
  detail: string | null;
  unlockCommandId: string | null;
  paymentId: string | null;
}

/** An end refused by its blockers: who tried (a customer, or a staff id), when, what blocked it. */
export interface EndAttempt {
  at: number;
  byKind: 'customer' | 'staff';
  byId: string;
  blockers: EndBlocker[];
}

export interface EndBlocker {
  code: string;
  message: string;
}

export interface EndCheck {
  rentalId: string;
  status: 'active' | 'ended';
  checkedAt: string;
  telemetryAt: string | null;
  blockers: EndBlocker[];
}
