/** The grid's "Rental / alert" text and the card's line: what holds the car and what is wrong with it, in words. */
import { alertKindLabel } from '../../../../shared/alert-kinds.js';
import type { BusinessDetail } from '../../data/business-state-index';
import { formatWhen } from '../../lib/format';

export function claimText(d: Pick<BusinessDetail, 'claim' | 'claimNow'>, now = Date.now()): string {
  const c = d.claim;
  if (!c) return '';
  if (c.kind === 'rental') return `In rental since ${formatWhen(c.startedAt ?? c.startsAt, now)}`;
  const what = c.kind === 'reservation' ? 'Reserved' : 'Booked';
  const until = c.endsAt === null ? '' : ` until ${formatWhen(c.endsAt, now)}`;
  if (d.claimNow) return `${what}${until}`;
  return `Booked from ${formatWhen(c.startsAt, now)}`;
}

export function situationText(d: BusinessDetail, now = Date.now()): string {
  const parts: string[] = [];
  if (d.alarms.length) parts.push(d.alarms.map(alertKindLabel).join(', '));
  if (d.maintenance) parts.push('Maintenance');
  const claim = claimText(d, now);
  if (claim) parts.push(claim);
  return parts.join(' · ');
}
