/**
 * The booking actions of the customer detail (extend, cancel): which bookings offer them, and the new end as
 * typed into an `<input type="datetime-local">` (the operator's local time) ⇄ epoch ms. The server gets the end
 * as ISO-8601 UTC (`ReplicaActions.requestExtendBooking`) and checks it again (the car may be taken then).
 */
import type { RentalDoc } from '../../../../shared/sync-protocol.js';

/** A booking support may still extend or cancel: confirmed, with an end that has not passed. */
export function isOpenBooking(x: Pick<RentalDoc, 'kind' | 'status' | 'endsAt'>, now: number): boolean {
  return x.kind === 'booking' && x.status === 'confirmed' && x.endsAt !== null && x.endsAt > now;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** epoch ms → "2031-07-01T13:00" in the operator's time zone (the value a datetime-local input takes). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** A datetime-local value (local time) → epoch ms; undefined when it is incomplete or not a real date. */
export function fromLocalInput(value: string): number | undefined {
  const m = LOCAL.exec(value.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  // new Date rolls 31 June over into July: refuse what is not a calendar date
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return undefined;
  return date.getTime();
}

/** What is wrong with this new end for a booking that now ends at `currentEnd`, or undefined. */
export function extensionProblem(currentEnd: number | null, newEnd: number | undefined): string | undefined {
  if (newEnd === undefined) return 'enter the new end date and time';
  if (currentEnd !== null && newEnd <= currentEnd) return 'the new end must be later than the booking’s current end';
  return undefined;
}
