/** The State column's filter: one checkbox per business state (AG Grid's set filter is not in the community edition). */
import type { CustomFilterProps } from 'ag-grid-react';
import { useGridFilter } from 'ag-grid-react';
import { useCallback } from 'react';
import type { DoesFilterPassParams } from 'ag-grid-community';
import { BUSINESS_STATES, BUSINESS_STATE_LABELS, type BusinessState } from '../../data/business-state';
import type { VehicleRow } from './vehicle-row';

/** The model: the states shown; null = all (filter inactive). */
type StateFilterModel = BusinessState[] | null;

export function StateFilter({ model, onModelChange, getValue }: CustomFilterProps<VehicleRow, unknown, StateFilterModel>) {
  const doesFilterPass = useCallback(
    (params: DoesFilterPassParams<VehicleRow>) => !model || model.includes(getValue(params.node) as BusinessState),
    [model, getValue],
  );
  useGridFilter({ doesFilterPass });
  const shown = new Set<BusinessState>(model ?? BUSINESS_STATES);
  const toggle = (s: BusinessState) => {
    const next = new Set(shown);
    if (!next.delete(s)) next.add(s);
    onModelChange(next.size === BUSINESS_STATES.length ? null : BUSINESS_STATES.filter((x) => next.has(x)));
  };
  return (
    <div className="state-filter" data-testid="state-filter">
      {BUSINESS_STATES.map((s) => (
        <label key={s} className="state-filter-option">
          <input type="checkbox" checked={shown.has(s)} onChange={() => toggle(s)} data-testid={`state-filter-${s}`} />
          <i className={`legend-dot state-bg-${s}`} aria-hidden="true" />
          {BUSINESS_STATE_LABELS[s]}
        </label>
      ))}
      <button type="button" className="text-button" onClick={() => onModelChange(null)}>
        All states
      </button>
    </div>
  );
}
