import { describe, expect, it } from 'vitest';
import type { CommandDoc } from '../../../../shared/sync-protocol.js';
import { commandOutcome, issuerWords, outcomeWords, reasonWords, stepsOf, stepWords, troubleFirst, whyWords } from './command-words';
import { commandReason } from '../../../../shared/command-reasons.js';

const base: CommandDoc = {
  id: 'c1',
  updatedAt: 5,
  vehicleId: 'V-1',
  type: 'lock',
  status: 'failed',
  reason: 'customer left it open',
  issuedBy: 'ana',
  issuedByName: 'Ana Lopez',
  createdAt: 1_000,
  expiresAt: 61_000,
  finishedAt: 3_000,
  lastResultReason: 'ignition_on',
  transitions: [
    { to: 'queued', at: 1_000, detail: null, by: null },
    { to: 'sent', at: 1_500, detail: 'published to the vehicle', by: null },
    { to: 'failed', at: 3_000, detail: 'vehicle: failed (ignition_on)', by: null },
  ],
};

describe('command words', () => {
  it('says the outcome in plain words, with the reason where it matters', () => {
    expect(commandOutcome(base)).toBe('lock failed: ignition on');
    expect(commandOutcome({ ...base, status: 'succeeded', lastResultReason: null })).toBe('lock succeeded');
    expect(commandOutcome({ ...base, type: 'honk_flash', status: 'sent' })).toBe('honk & flash sent, not yet acknowledged');
    expect(commandOutcome({ ...base, status: 'expired', lastResultReason: 'expired before it could be sent (vehicle offline)' })).toBe(
      'lock expired: expired before it could be sent (vehicle offline)',
    );
    const cancelled = {
      ...base,
      status: 'cancelled',
      lastResultReason: null,
      transitions: [{ to: 'cancelled', at: 2, detail: 'wrong car', by: 'Bo' }],
    };
    expect(commandOutcome(cancelled)).toBe('lock cancelled: wrong car');
  });

  it('turns codes into words and keeps free text', () => {
    expect(reasonWords('doors_open')).toBe('doors open');
    expect(reasonWords('refused (doors_open)')).toBe('refused (doors open)');
    expect(reasonWords('timeout')).toBe('timeout');
  });

  it('names the issuer, never an id when a name is known', () => {
    expect(issuerWords(base)).toBe('Ana Lopez');
    expect(issuerWords({ issuedBy: 'system', issuedByName: null })).toBe('system');
    expect(issuerWords({ issuedBy: 'customer', issuedByName: null })).toBe('a customer');
    expect(issuerWords({ issuedBy: 'customer:cu-1', issuedByName: null })).toBe('a customer');
    expect(issuerWords({ issuedBy: 'gone-staff', issuedByName: null })).toBe('gone-staff');
  });

  it('uses the replicated steps, or rebuilds them for a document from before they were replicated', () => {
    expect(stepsOf(base)).toBe(base.transitions);
    const { transitions: _omit, ...v0 } = base;
    void _omit;
    expect(stepsOf(v0)).toEqual([
      { to: 'queued', at: 1_000, detail: null, by: null },
      { to: 'failed', at: 3_000, detail: 'ignition_on', by: null },
    ]);
    expect(stepsOf({ ...v0, status: 'queued', finishedAt: null })).toEqual([{ to: 'queued', at: 1_000, detail: null, by: null }]);
    expect(stepWords({ to: 'cancelled', at: 1, detail: 'wrong car', by: 'Bo Chen' })).toBe('cancelled by Bo Chen: wrong car');
    expect(stepWords({ to: 'queued', at: 1, detail: null, by: null })).toBe('queued');
    expect(stepWords(base.transitions![2]!)).toBe('failed: ignition on');
    expect(stepWords({ to: 'succeeded', at: 1, detail: 'vehicle: succeeded', by: null })).toBe('succeeded');
    expect(stepWords({ to: 'sent', at: 1, detail: 'published to the vehicle', by: null })).toBe('sent: published to the vehicle');
  });

  it('lists failed and expired first, newest first within each', () => {
    const docs = [
      { id: 'a', status: 'succeeded', createdAt: 50 },
      { id: 'b', status: 'failed', createdAt: 10 },
      { id: 'c', status: 'queued', createdAt: 60 },
      { id: 'd', status: 'expired', createdAt: 20 },
    ];
    expect(troubleFirst(docs).map((d) => d.id)).toEqual(['d', 'b', 'c', 'a']);
  });

  it('words a type, status and reason wherever a command shows (timeline, request outcomes)', () => {
    expect(outcomeWords('lock', 'failed', 'ignition_on')).toBe('lock failed: ignition on');
    expect(outcomeWords('unlock', 'succeeded')).toBe('unlock succeeded');
    expect(outcomeWords('honk_flash', 'queued', null)).toBe('honk & flash waiting to be sent');
    expect(outcomeWords('immobilize', 'expired', 'expired before it could be sent (vehicle offline)')).toBe(
      'immobilize expired: expired before it could be sent (vehicle offline)',
    );
  });
});

describe('whyWords and issuerWords', () => {
  const rentalId = '0aadb6fa-1a43-41c0-8a36-4a12edee1fba';
  const names = {
    staff: (id: string) => (id === 'demo-support' ? 'Demo Support' : id),
    customer: (id: string) => (id === 'cust-1' ? 'Anna Weber' : undefined),
  };
  it('says a rental command without ids, with the names the role may see', () => {
    expect(whyWords(commandReason.rentalStart(rentalId, 'booking', 'bkg_1', 'cust-1'), names)).toBe(
      'to start a rental (booked by Anna Weber)',
    );
    expect(whyWords(commandReason.rentalStart(rentalId, 'reservation', 'res_1', 'cust-2'), names)).toBe('to start a rental (reserved)');
    expect(whyWords(commandReason.rentalStart(rentalId, 'booking', 'bkg_1', 'cust-1'))).toBe('to start a rental (booked)');
    expect(whyWords(commandReason.rentalEnd(rentalId, 'demo-support'), names)).toBe('to end a rental, ended by Demo Support');
    expect(whyWords(commandReason.rentalEnd(rentalId, null), names)).toBe('to end a rental');
    expect(whyWords(commandReason.rentalRelock(rentalId, 'unlock_timeout'))).toBe('lock again: the rental did not start (unlock timeout)');
    expect(whyWords(commandReason.rentalStartGaveUp(rentalId, 30_000))).toBe('rental start given up: no answer from the car within 30 s');
    for (const r of [commandReason.rentalStart(rentalId, 'booking', 'bkg_1', 'cust-1'), commandReason.rentalEnd(rentalId, 'demo-support')])
      expect(whyWords(r, names)).not.toContain(rentalId);
    expect(whyWords('wrong car, sorry', names)).toBe('wrong car, sorry');
  });
  it('names the customer who issued a command only when the lookup knows them', () => {
    expect(issuerWords({ issuedBy: 'customer:cust-1', issuedByName: null }, names)).toBe('Anna Weber');
    expect(issuerWords({ issuedBy: 'customer:cust-2', issuedByName: null }, names)).toBe('a customer');
    expect(issuerWords({ issuedBy: 'customer', issuedByName: null }, names)).toBe('a customer');
    expect(issuerWords({ issuedBy: 'system', issuedByName: null })).toBe('system');
  });
});
