/**
 * Fleet counts by business state (the same index the map, the grid and the card read): the total with its label, then
 * one coloured dot and number per state — compact so the header holds at 1280 px; each names its state in its title
 * and to screen readers, and the map's legend beside them names the colours. The numbers are plain digits (tests read
 * them) with a data-value twin.
 */
import { BUSINESS_STATE_COLORS, BUSINESS_STATES, BUSINESS_STATE_LABELS } from '../data/business-state';
import type { BusinessCounts } from '../data/business-state-index';

interface CountProps {
  label: string;
  value: number;
  testId: string;
}

function Count({ label, value, testId }: CountProps) {
  return (
    <div className="count">
      <span className="count-label">{label}</span>
      <span className="count-value" data-testid={testId} data-value={value}>
        {value}
      </span>
    </div>
  );
}

export function FleetCounts({ counts }: { counts: BusinessCounts }) {
  return (
    <div className="counts" aria-label="Fleet counts">
      <Count label="Vehicles" value={counts.total} testId="count-total" />
      <div className="state-counts">
        {BUSINESS_STATES.map((s) => (
          <span
            key={s}
            className={`state-count${counts[s] === 0 ? ' state-count-zero' : ''}`}
            title={`${BUSINESS_STATE_LABELS[s]}: ${counts[s]}`}
            aria-label={`${BUSINESS_STATE_LABELS[s]}: ${counts[s]}`}
          >
            <span className="count-swatch" style={{ background: BUSINESS_STATE_COLORS[s] }} aria-hidden="true" />
            <span data-testid={`count-${s}`} data-value={counts[s]} aria-hidden="true">
              {counts[s]}
            </span>
          </span>
        ))}
      </div>
    </div>
  );
}
