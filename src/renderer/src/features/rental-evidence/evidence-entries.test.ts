import { describe, expect, it } from 'vitest';
import { startFailureWords } from '../../../../shared/start-failures.js';
import type { CommandDoc, NoteDoc, RentalDoc } from '../../../../shared/sync-protocol.js';
import { commandDocOf, evidenceEntries, factsFromDetail, operationWords, overriddenBlockers, type RentalFacts } from './evidence-entries';
import type { RentalEvidenceDetail } from './evidence-types';

const T = Date.parse('2030-03-01T08:00:00Z');
const MIN = 60_000;

const facts: RentalFacts = {
  id: 'r1',
  status: 'ended',
  vehicleId: 'v1',
  customerId: 'c1',
  sourceId: 'res1',
  startedAt: T,
  endedAt: T + 40 * MIN,
  returnBy: null,
  price: null,
  totalCents: 1200,
  currency: 'EUR',
  unlockCommandId: 'unlock-r1',
  lockCommandId: 'lock-r1',
  endedBy: 'agent-1',
  endReason: 'stuck',
};
const command = (id: string, type: string, at: number) =>
  ({
    id,
    vehicleId: 'v1',
    type,
    status: 'succeeded',
    reason: '',
    issuedBy: 'system',
    createdAt: at,
    expiresAt: at,
    finishedAt: at,
    lastResultReason: null,
    transitions: [],
  }) as unknown as CommandDoc;

describe('a rental’s evidence in order', () => {
  it('orders the source, start, hold, unlock, trip, a refused end, the end, the override (staff actions only), lock, capture, refund, damage and notes by time', () => {
    const entries = evidenceEntries({
      facts,
      source: { id: 'res1', kind: 'reservation', createdAt: T - 5 * MIN } as RentalDoc,
      commands: [command('lock-r1', 'lock', T + 40 * MIN), command('unlock-r1', 'unlock', T)],
      operations: [
        {
          operationId: 'o3',
          kind: 'refund',
          amountCents: 200,
          currency: 'EUR',
          status: 'pending',
          attempts: 0,
          lastError: null,
          createdBy: 'agent-1',
          reason: 'dirty',
          createdAt: new Date(T + 60 * MIN).toISOString(),
          completedAt: null,
        },
        {
          operationId: 'o1',
          kind: 'authorize',
          amountCents: 3000,
          currency: 'EUR',
          status: 'succeeded',
          attempts: 1,
          lastError: null,
          createdBy: 'system',
          reason: null,
          createdAt: new Date(T).toISOString(),
          completedAt: null,
        },
      ],
      damageReports: [{ reportId: 'd1', text: 'dent', photos: [], createdAt: new Date(T + 50 * MIN).toISOString() }],
      notes: [{ id: 'n1', targetType: 'rental', targetId: 'r1', text: 'called', author: 'agent-1', createdAt: T + 70 * MIN } as NoteDoc],
      endAttempts: [{ at: T + 38 * MIN, byKind: 'customer', byId: 'c1', blockers: [{ code: 'doors_open', message: 'A door is open' }] }],
      // the first try of the reservation: the car did not confirm the unlock
      startAttempts: [
        {
          sourceId: 'res1',
          attemptId: 'try-1',
          at: T - 2 * MIN,
          failure: 'unlock_timeout',
          detail: null,
          unlockCommandId: 'unlock-try-1',
          paymentId: 'p0',
        },
      ],
      audit: [
        // the customer's own end is the end entry: not a staff action
        { id: 6, at: T + 40 * MIN, actor: 'c1', role: 'customer', action: 'rental.ended', reason: null, before: null, after: null },
        {
          id: 7,
          at: T + 40 * MIN,
          actor: 'agent-1',
          role: 'support',
          action: 'rental.ended_override',
          reason: 'stuck',
          before: {},
          after: { overriddenBlockers: ['doors_open'] },
        },
      ],
    });
    expect(entries.map((e) => (e.kind === 'command' ? `${e.kind}:${e.role}` : e.kind))).toEqual([
      'source',
      'start-failed',
      'start',
      'payment',
      'command:unlock',
      'trip',
      'end-refused',
      'command:lock',
      'end',
      'staff',
      'damage',
      'payment',
      'note',
    ]);
    expect(entries.find((e) => e.kind === 'end')).toMatchObject({ overridden: ['doors_open'] });
  });

  it('a failed start in words, with what the server kept', () => {
    expect(startFailureWords('unlock_failed', 'door jammed')).toBe('the car refused the unlock: door jammed');
    expect(startFailureWords('unlock_timeout', null)).toBe('the car did not confirm the unlock in time');
    expect(startFailureWords('start_conflict', 'another reservation, booking or rental of the car overlaps')).toBe(
      'another reservation, booking or rental of the car overlaps',
    );
    expect(startFailureWords('a_new_code', null)).toBe('a new code');
  });

  it('an override without a list, or no override, names no blockers', () => {
    expect(overriddenBlockers([])).toEqual([]);
    expect(
      overriddenBlockers([
        { id: 1, at: 0, actor: 'a', role: 'support', action: 'rental.ended_override', reason: 'x', before: null, after: null },
      ]),
    ).toEqual([]);
  });

  it('refunds read pending until the provider confirms them, then refunded', () => {
    expect(operationWords({ kind: 'refund', status: 'pending' })).toEqual({ title: 'Refund', state: 'pending' });
    expect(operationWords({ kind: 'refund', status: 'succeeded' })).toEqual({ title: 'Refund', state: 'refunded' });
    expect(operationWords({ kind: 'capture', status: 'failed' }).state).toBe('failed');
  });

  it('reads the staff API’s answer: ISO times to epoch ms, the source id, commands in the replica’s shape', () => {
    const f = factsFromDetail({
      rental: {
        rentalId: 'r1',
        status: 'active',
        customerId: 'c1',
        vehicleId: 'v1',
        source: { kind: 'booking', id: 'b1' },
        startedAt: '2030-03-01T08:00:00.000Z',
        endedAt: null,
        returnBy: null,
        totalCents: null,
        currency: null,
        unlockCommandId: 'u',
        lockCommandId: null,
        paymentId: null,
        endedBy: null,
        endReason: null,
      },
      price: null,
      payments: null,
      evidence: { commands: [], damageReports: [], audit: [], endAttempts: [] },
    } as RentalEvidenceDetail);
    expect(f).toMatchObject({ sourceId: 'b1', startedAt: T, endedAt: null });
    const c = commandDocOf(
      {
        commandId: 'u',
        type: 'unlock',
        status: 'sent',
        reason: 'r',
        issuedBy: 'system',
        createdAt: T,
        finishedAt: null,
        lastResultReason: null,
        transitions: [{ from: null, to: 'queued', at: T, detail: null }],
      },
      'v1',
    );
    expect(c).toMatchObject({ id: 'u', vehicleId: 'v1', transitions: [{ to: 'queued', at: T, detail: null, by: null }] });
  });
});
