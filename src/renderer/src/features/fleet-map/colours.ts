/** What the map, the legend, the top bar's counts and the state pills colour a car by. Renderer only. */
import type { BusinessState } from '../../data/business-state';

export const BUSINESS_STATE_COLORS: Record<BusinessState, string> = {
  available: '#22c55e',
  reserved: '#f59e0b',
  in_rental: '#3b82f6',
  maintenance: '#a855f7',
  offline: '#8a8f98',
  alarm: '#ef4444',
};
