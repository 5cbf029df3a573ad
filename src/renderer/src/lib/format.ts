/** Small formatting helpers shared by the map tooltip, the grid and the status bar. */
import type { EnergyType } from '../../../shared/fleet.js';

/** "now", "3 s ago", "4 min ago", "2 h ago", "3 d ago" — coarse on purpose: it refreshes every second. */
export function formatAgo(epochMs: number | undefined, now = Date.now()): string {
  if (epochMs === undefined || !Number.isFinite(epochMs)) return '—';
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 1) return 'now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

const clockWithSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
/** "14:05:09": a live reading's time of day (the last-seen of a car). */
export function formatClock(epochMs: number | undefined): string {
  return epochMs === undefined || !Number.isFinite(epochMs) ? '—' : clockWithSeconds.format(epochMs);
}

export function formatSpeed(kph: number | undefined): string {
  return kph === undefined || !Number.isFinite(kph) ? '—' : `${Math.round(kph)} km/h`;
}

export function formatPercent(pct: number | undefined): string {
  return pct === undefined || !Number.isFinite(pct) ? '—' : `${Math.round(pct)} %`;
}

export function formatLatLon(lat: number | undefined, lon: number | undefined): string {
  if (lat === undefined || lon === undefined) return '—';
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

export function energyLabel(type: EnergyType | undefined): string {
  return type === 'electric' ? 'Battery' : type === 'fuel' ? 'Fuel' : 'Energy';
}

export function energyShort(type: EnergyType | undefined): string {
  return type === 'electric' ? 'EV' : type === 'fuel' ? 'Fuel' : '';
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export function formatCount(n: number): string {
  return integer.format(n);
}

/** Plates are typed in many ways ("b-ab 1234", "BAB1234"): compare them without case, spaces or dashes. */
export function normalizePlate(s: string): string {
  return s.toUpperCase().replace(/[\s-]+/g, '');
}

/** Integer minor units → "12.34 EUR" style, in the operator's locale. */
export function formatMoney(cents: number | null | undefined, currency: string | null | undefined): string {
  if (cents === null || cents === undefined || !Number.isFinite(cents)) return '—';
  const cur = currency && /^[A-Z]{3}$/.test(currency) ? currency : 'EUR';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${cur}`;
  }
}

/** "12.5" / "12,50" / "12" (major units, as typed) → integer minor units; undefined when it is not an amount. */
export function parseMoney(text: string): number | undefined {
  const t = text.trim().replace(/\s/g, '').replace(',', '.');
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(t)) return undefined;
  const [whole, frac = ''] = t.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

/**
 * The desk's one date/time formatter: "Dec 06, 2026, 14:05" in the operator's locale and time zone. Texts never show
 * raw ISO timestamps; `formatWhen` is its short form for lists.
 */
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});
const dayAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const valid = (ms: number | null | undefined): ms is number => ms !== null && ms !== undefined && Number.isFinite(ms);

export function formatDateTime(epochMs: number | null | undefined): string {
  return valid(epochMs) ? dateTime.format(epochMs) : '—';
}

/** "14:05" today, "Dec 03, 14:05" on another day, the year too when it is not this year. */
export function formatWhen(epochMs: number | null | undefined, now = Date.now()): string {
  if (!valid(epochMs)) return '—';
  const d = new Date(epochMs);
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) return timeOfDay.format(d);
  return d.getFullYear() === n.getFullYear() ? dayAndTime.format(d) : dateTime.format(d);
}

/** "1 car", "3 cars", "0 cars" (with the count in the operator's locale). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

const ISO_TIMESTAMP = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?/g;

/**
 * A server's or a device's text made readable: ISO timestamps in the desk's date/time format, snake_case codes as
 * words ("ignition_on" → "ignition on"), a JSON object of changed fields as words ({"serviceState":"available"} →
 * "service state: available"). Used for refusals, command results and request outcomes.
 */
export function plainServerText(text: string): string {
  return text
    .replace(/\{"[^{}]*\}/g, (json) => {
      try {
        const fields = Object.entries(JSON.parse(json) as Record<string, unknown>);
        return fields
          .map(([k, v]) => `${k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}: ${v === null ? 'none' : String(v)}`)
          .join(', ');
      } catch {
        return json;
      }
    })
    .replace(ISO_TIMESTAMP, (iso) => {
      const ms = Date.parse(iso);
      return Number.isFinite(ms) ? formatDateTime(ms) : iso;
    })
    .replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (code) => code.replace(/_/g, ' '));
}

/** "1 h 05 min", "12 min", "2 d 3 h" */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A short delay: "80 ms", "2.4 s", "45 s"; a minute or more as formatDuration. */
export function formatDelay(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  return formatDuration(ms);
}
