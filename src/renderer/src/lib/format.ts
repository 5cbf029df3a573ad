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
