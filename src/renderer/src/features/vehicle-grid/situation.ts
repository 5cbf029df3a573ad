/** The grid's "Rental / alert" text and the card's line: what holds the car and what is wrong with it, in words. */
import type { BusinessDetail } from '../../data/business-state-index';

/** `movement_without_rental` → `Movement without rental` (the alert queue's own labels are issue 10 §3). */
const alertKindLabel = (kind: string) => kind.charAt(0).toUpperCase() + kind.slice(1).replace(/_/g, ' ');
const clock = (ms: number) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
const day = (ms: number) => new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });

export function claimText(d: Pick<BusinessDetail, 'claim' | 'claimNow'>, now = Date.now()): string {
  const c = d.claim;
  if (!c) return '';
  if (c.kind === 'rental') return `In rental since ${clock(c.startedAt ?? c.startsAt)}`;
  const what = c.kind === 'reservation' ? 'Reserved' : 'Booked';
  const until = c.endsAt === null ? '' : ` until ${clock(c.endsAt)}`;
  if (d.claimNow) return `${what}${until}`;
  const sameDay = new Date(c.startsAt).toDateString() === new Date(now).toDateString();
  return `Booked from ${sameDay ? '' : `${day(c.startsAt)} `}${clock(c.startsAt)}`;
}

export function situationText(d: BusinessDetail, now = Date.now()): string {
  const parts: string[] = [];
  if (d.alarms.length) parts.push(d.alarms.map(alertKindLabel).join(', '));
  if (d.maintenance) parts.push('Maintenance');
  const claim = claimText(d, now);
  if (claim) parts.push(claim);
  return parts.join(' · ');
}
