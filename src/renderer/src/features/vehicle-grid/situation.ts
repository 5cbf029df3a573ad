/** The grid's "Rental / alert" text and the card's line: what holds the car and what is wrong with it, in words. */
import { alertKindLabel } from '../../../../shared/alert-kinds.js';
import type { BusinessDetail } from '../../data/business-state-index';

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
