import { describe, expect, it } from 'vitest';
import { olderThanReplica, type StaffAllocation } from './OlderHistory';

const DAY = 86_400_000;
const now = Date.parse('2031-03-01T12:00:00Z');
const listed = (id: string, updatedDaysAgo: number): StaffAllocation => ({
  id,
  kind: 'rental',
  status: 'ended',
  vehicleId: 'veh-1',
  customerId: 'cus-1',
  startsAt: null,
  endsAt: null,
  startedAt: new Date(now - updatedDaysAgo * DAY - 3_600_000).toISOString(),
  endedAt: new Date(now - updatedDaysAgo * DAY).toISOString(),
  cancelReason: null,
  totalCents: 1218,
  currency: 'EUR',
  updatedAt: new Date(now - updatedDaysAgo * DAY).toISOString(),
});

describe('olderThanReplica', () => {
  it('keeps what the server lists past the horizon and the replica does not hold; not a recent one merely beyond the list above', () => {
    const server = [listed('held-recent', 2), listed('recent-not-listed-above', 5), listed('old', 31), listed('old-held', 40)];
    const older = olderThanReplica(server, new Set(['held-recent', 'old-held']), 30, now);
    expect(older.map((x) => x.id)).toEqual(['old']);
  });
});
