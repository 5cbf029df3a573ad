/**
 * Cell renderers for the vehicle grid. AG Grid renders only the visible rows, so a small React component per
 * visible cell is fine here (unlike the map, where every vehicle is drawn).
 */
import type { CustomCellRendererProps } from 'ag-grid-react';
import { BUSINESS_STATE_LABELS, type BusinessState } from '../../data/business-state';
import { energyShort } from '../../lib/format';
import type { GridContext } from './columns';
import type { VehicleRow } from './vehicle-row';

/** The business state as a pill, with moving/parked beside it (the secondary cue the map shows as a heading tick). */
export function StateCell({ value, data, context }: CustomCellRendererProps<VehicleRow, BusinessState>) {
  if (!value) return null;
  const moving = data ? (context as GridContext).index.isMoving(data.id) : false;
  return (
    <span className="state-cell">
      <span className={`state-pill state-${value}`}>{BUSINESS_STATE_LABELS[value]}</span>
      {value !== 'offline' ? <span className="motion-note">{moving ? 'moving' : 'parked'}</span> : null}
    </span>
  );
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
