/**
 * The map's legend: one toggle per business state with its count (click to hide/show those cars on the map), the
 * moving cue, and the zone kinds the replica holds.
 */
import { BUSINESS_STATES, BUSINESS_STATE_LABELS, type BusinessState } from '../../data/business-state';
import type { BusinessCounts } from '../../data/business-state-index';
import { formatCount } from '../../lib/format';
import { ZONE_KIND_LABELS, ZONE_STYLES, type ZoneKind } from './zone-styles';

interface MapLegendProps {
  counts: BusinessCounts;
  hidden: ReadonlySet<BusinessState>;
  onToggle(state: BusinessState): void;
  zoneKinds: readonly ZoneKind[];
  /**
   * replicated collections the states are derived from whose first pull of this session is still running (empty:
   * none): until they arrive a car may show available that is reserved, rented or in alarm, and the legend says so
   */
  loading?: readonly string[];
}

export function MapLegend({ counts, hidden, onToggle, zoneKinds, loading = [] }: MapLegendProps) {
  return (
    <div className="map-legend" aria-label="Legend: show or hide cars by state" data-testid="map-legend">
      {loading.length > 0 ? (
        <span className="legend-loading" role="status" data-testid="legend-loading">
          Loading {listWords(loading)} from the server — states may still change
        </span>
      ) : null}
      {BUSINESS_STATES.map((s) => {
        const shown = !hidden.has(s);
        return (
          <button
            key={s}
            type="button"
            className={`legend-toggle${shown ? '' : ' legend-toggle-off'}`}
            aria-pressed={shown}
            title={`${shown ? 'Hide' : 'Show'} ${BUSINESS_STATE_LABELS[s].toLowerCase()} cars on the map`}
            data-testid={`legend-${s}`}
            data-count={counts[s]}
            onClick={() => onToggle(s)}
          >
            <i className={`legend-dot state-bg-${s}`} aria-hidden="true" />
            {BUSINESS_STATE_LABELS[s]}
            <span className="legend-count">{formatCount(counts[s])}</span>
          </button>
        );
      })}
      <span className="legend-note" title="A tick on the dot shows a moving car and its heading">
        <i className="legend-moving" aria-hidden="true" />
        Moving
      </span>
      {zoneKinds.map((k) => (
        <span key={k} className="legend-note">
          <i
            className="legend-zone"
            aria-hidden="true"
            style={{ borderColor: ZONE_STYLES[k].color, background: `${ZONE_STYLES[k].fillColor}33` }}
          />
          {ZONE_KIND_LABELS[k]}
        </span>
      ))}
    </div>
  );
}

/** ['rentals'] → "rentals"; ['vehicles', 'rentals', 'alerts'] → "vehicles, rentals and alerts" */
function listWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
