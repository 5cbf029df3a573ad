/**
 * The reasons the server writes on the commands it issues itself (a rental's unlock at start, its lock at end, the
 * re-lock after a start that did not happen), built here and read back here, so the desk can say them in words —
 * "unlock to start a rental (booked)", with the customer's name for roles that may see it — instead of showing ids.
 * The texts stay readable on their own (the audit trail and the API carry them as they are). A staff member's own
 * reason is free text and reads as `{ kind: 'text' }`.
 *
 * For a role without customer data the customer's id is cut from the reason (`commandForRole` in
 * permissions.ts: "customer <id>" → "a customer"); the reader accepts both forms.
 */

export type RentalSourceKind = 'reservation' | 'booking';

export type CommandReason =
  | { kind: 'rental_start'; rentalId: string; source: RentalSourceKind; sourceId: string; customerId: string | null }
  | { kind: 'rental_start_failed'; rentalId: string }
  | { kind: 'rental_start_gave_up'; rentalId: string; afterMs: number }
  | { kind: 'rental_relock'; rentalId: string; why: string }
  | { kind: 'rental_end'; rentalId: string; staffId: string | null }
  | { kind: 'text'; text: string };

/** The reason text of a server-issued command. */
export const commandReason = {
  rentalStart: (rentalId: string, source: RentalSourceKind, sourceId: string, customerId: string): string =>
    `rental ${rentalId} start (${source} ${sourceId}, customer ${customerId})`,
  rentalStartFailed: (rentalId: string): string => `rental ${rentalId} start failed`,
  rentalStartGaveUp: (rentalId: string, afterMs: number): string => `rental ${rentalId} start gave up after ${afterMs} ms`,
  rentalRelock: (rentalId: string, why: string): string =>
    `rental ${rentalId} did not start (${why}): lock again in case the unlock ran late`,
  rentalEnd: (rentalId: string, staffId: string | null): string => `rental ${rentalId} ended${staffId ? ` by ${staffId}` : ''}`,
};

const ID = '([A-Za-z0-9_:.-]{1,100})';
const PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => CommandReason]> = [
  [
    new RegExp(`^rental ${ID} start \\((reservation|booking) ${ID}, (?:customer ${ID}|a customer)\\)$`),
    (m) => ({ kind: 'rental_start', rentalId: m[1]!, source: m[2] as RentalSourceKind, sourceId: m[3]!, customerId: m[4] ?? null }),
  ],
  [new RegExp(`^rental ${ID} start failed$`), (m) => ({ kind: 'rental_start_failed', rentalId: m[1]! })],
  [
    new RegExp(`^rental ${ID} start gave up after (\\d+) ms$`),
    (m) => ({ kind: 'rental_start_gave_up', rentalId: m[1]!, afterMs: Number(m[2]) }),
  ],
  [
    new RegExp(`^rental ${ID} did not start \\((.{1,200})\\): lock again in case the unlock ran late$`),
    (m) => ({ kind: 'rental_relock', rentalId: m[1]!, why: m[2]! }),
  ],
  [new RegExp(`^rental ${ID} ended(?: by ${ID})?$`), (m) => ({ kind: 'rental_end', rentalId: m[1]!, staffId: m[2] ?? null })],
];

/** What a command's reason says: one of the server's own (with its rental) or a person's free text. */
export function readCommandReason(reason: string): CommandReason {
  for (const [re, read] of PATTERNS) {
    const m = re.exec(reason);
    if (m) return read(m);
  }
  return { kind: 'text', text: reason };
}

/** The rental a command was issued for, if the server issued it for one. */
export const rentalOfCommand = (reason: string): string | null => {
  const r = readCommandReason(reason);
  return r.kind === 'text' ? null : r.rentalId;
};
