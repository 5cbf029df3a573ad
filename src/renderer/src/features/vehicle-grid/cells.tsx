/**
 * Cell renderers for the vehicle grid. AG Grid renders only the visible rows, so a small React component per
 * visible cell is fine here (unlike the map, where every vehicle is drawn).
 */
import type { CustomCellRendererProps } from 'ag-grid-react';
import type { LiveDisplayState } from '../../../../shared/fleet.js';
import { energyShort } from '../../lib/format';
import type { VehicleRow } from './vehicle-row';

export function StateCell({ value }: CustomCellRendererProps<VehicleRow, LiveDisplayState | 'maintenance'>) {
  if (!value) return null;
  return <span className={`state-pill state-${value}`}>{value}</span>;
}

export function EnergyCell({ value, data }: CustomCellRendererProps<VehicleRow, number>) {
  if (value === undefined || value === null || !Number.isFinite(value)) return <span className="muted">—</span>;
  const pct = Math.max(0, Math.min(100, value));
  const level = pct < 15 ? 'low' : pct < 35 ? 'mid' : 'ok';
  const type = data?.info?.energyType;
  return (
    <span className="energy-cell" title={type === 'electric' ? 'Battery' : 'Fuel'}>
      <span className={`energy-kind energy-kind-${type ?? 'unknown'}`}>{energyShort(type)}</span>
      <span className="energy-bar">
        <span className={`energy-fill energy-${level}`} style={{ width: `${pct}%` }} />
      </span>
      <span className="energy-value">{Math.round(pct)}%</span>
    </span>
  );
}
