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

export function formatClock(epochMs: number | undefined): string {
  if (epochMs === undefined) return '—';
  return new Date(epochMs).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
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

export function formatDateTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '—';
  return new Date(epochMs).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
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
