/** Fleet counts by display state. The numbers are plain digits (tests read them) with a data-value twin. */
import { DISPLAY_STATE_COLORS } from '../features/fleet-map/colours';
import type { FleetCountsView } from '../data/fleet-store';

interface CountProps {
  label: string;
  value: number;
  testId: string;
  color?: string;
}

function Count({ label, value, testId, color }: CountProps) {
  return (
    <div className="count">
      <span className="count-label">
        {color ? <span className="count-swatch" style={{ background: color }} aria-hidden="true" /> : null}
        {label}
      </span>
      <span className="count-value" data-testid={testId} data-value={value}>
        {value}
      </span>
    </div>
  );
}

export function FleetCounts({ counts }: { counts: FleetCountsView }) {
  return (
    <div className="counts" aria-label="Fleet counts">
      <Count label="Vehicles" value={counts.total} testId="count-total" />
      <Count label="Moving" value={counts.moving} testId="count-moving" color={DISPLAY_STATE_COLORS.moving} />
      <Count label="Parked" value={counts.parked} testId="count-parked" color={DISPLAY_STATE_COLORS.parked} />
      <Count label="Offline" value={counts.offline} testId="count-offline" color={DISPLAY_STATE_COLORS.offline} />
    </div>
  );
}
