import { describe, expect, it } from 'vitest';
import { commandReason, readCommandReason, rentalOfCommand } from './command-reasons.js';
import { commandForRole } from './permissions.js';

const rentalId = '3f69651c-d4d6-488c-bbab-c9bf8b8b34f2';
const customerId = 'cea3f172-d220-4d10-a8b6-c216aca78229';

describe('command reasons', () => {
  it('reads back every reason the server writes', () => {
    expect(readCommandReason(commandReason.rentalStart(rentalId, 'booking', 'bkg_83946b4d', customerId))).toEqual({
      kind: 'rental_start',
      rentalId,
      source: 'booking',
      sourceId: 'bkg_83946b4d',
      customerId,
    });
    expect(readCommandReason(commandReason.rentalStartFailed(rentalId))).toEqual({ kind: 'rental_start_failed', rentalId });
    expect(readCommandReason(commandReason.rentalStartGaveUp(rentalId, 30_000))).toEqual({
      kind: 'rental_start_gave_up',
      rentalId,
      afterMs: 30_000,
    });
    expect(readCommandReason(commandReason.rentalRelock(rentalId, 'unlock_timeout'))).toEqual({
      kind: 'rental_relock',
      rentalId,
      why: 'unlock_timeout',
    });
    expect(readCommandReason(commandReason.rentalEnd(rentalId, null))).toEqual({ kind: 'rental_end', rentalId, staffId: null });
    expect(readCommandReason(commandReason.rentalEnd(rentalId, 'demo-support'))).toEqual({
      kind: 'rental_end',
      rentalId,
      staffId: 'demo-support',
    });
  });

  it('reads the start reason a role without customer data receives (customer id cut)', () => {
    const command = {
      issuedBy: `customer:${customerId}`,
      reason: commandReason.rentalStart(rentalId, 'reservation', 'res_1', customerId),
    };
    const seen = commandForRole(command, 'dispatcher');
    expect(seen.reason).not.toContain(customerId);
    expect(readCommandReason(seen.reason)).toEqual({
      kind: 'rental_start',
      rentalId,
      source: 'reservation',
      sourceId: 'res_1',
      customerId: null,
    });
  });

  it("keeps a person's reason as text, and finds no rental in it", () => {
    expect(readCommandReason('customer says the car will not open')).toEqual({ kind: 'text', text: 'customer says the car will not open' });
    expect(readCommandReason('rental 1 start (booking b, customer c) — extra')).toEqual({
      kind: 'text',
      text: 'rental 1 start (booking b, customer c) — extra',
    });
    expect(rentalOfCommand('towing to the depot')).toBeNull();
    expect(rentalOfCommand(commandReason.rentalEnd(rentalId, null))).toBe(rentalId);
  });
});
