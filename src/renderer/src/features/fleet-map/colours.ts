/** What the map (and the top bar's counts) colour a vehicle by, per display state. Renderer only. */
import type { LiveDisplayState } from '../../../../shared/fleet.js';

export const DISPLAY_STATE_COLORS: Record<LiveDisplayState, string> = {
  moving: '#1f9d55',
  parked: '#2b6cb0',
  offline: '#8a8f98',
};
