import { describe, expect, it } from 'vitest';
import type { AlertDoc, CommandDoc, RentalDoc } from '../../../../shared/sync-protocol.js';
import { replicaEntries } from './replica-entries';

const command = {
  id: 'c1',
  vehicleId: 'v1',
  type: 'lock',
  status: 'failed',
  reason: 'parked badly',
  issuedBy: 'd1',
  createdAt: 3_000,
} as CommandDoc;
const alert = {
  id: 'a1',
  vehicleId: 'v1',
  kind: 'device_offline',
  severity: 'warning',
  status: 'resolved',
  openedAt: 1_000,
  occurrences: 1,
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: 2_000,
  resolvedBy: 'system',
  resolution: 'auto: back online',
} as AlertDoc;
const rental = {
  id: 'r1',
  kind: 'rental',
  vehicleId: 'v1',
  customerId: 'cust-1',
  status: 'ended',
  startsAt: 4_000,
  startedAt: 4_000,
  endedAt: 5_000,
} as RentalDoc;

describe('replicaEntries', () => {
  it('words what the replica holds, newest first, as milestones where the server would', () => {
    const entries = replicaEntries({ commands: [command], alerts: [alert], tasks: [], notes: [], rentals: [rental] }, true);
    expect(entries.map((e) => [e.at, e.kind, e.title])).toEqual([
      [5_000, 'rental', 'Rental ended'],
      [4_000, 'rental', 'Rental started'],
      [3_000, 'command', 'Command lock issued — now failed'],
      [2_000, 'connectivity', 'Back online'],
      [1_000, 'connectivity', 'Went offline'],
    ]);
    expect(entries[0]!.refs).toEqual({ rentalId: 'r1', customerId: 'cust-1' });
  });

  it('leaves the customer out for dispatchers', () => {
    const [ended] = replicaEntries({ commands: [], alerts: [], tasks: [], notes: [], rentals: [rental] }, false);
    expect(ended!.refs).toEqual({ rentalId: 'r1' });
    expect(ended!.actor).toEqual({ type: 'customer', id: null, name: null });
  });
});
