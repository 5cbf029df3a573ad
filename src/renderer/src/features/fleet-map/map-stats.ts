/**
 * Figures the map layer writes after every draw and the status bar reads once a second: a plain mutable
 * object, so per-frame numbers never go through React state.
 */
export interface MapStats {
  lastDrawMs: number;
  /** exponential moving average of the draw time */
  avgDrawMs: number;
  maxDrawMs: number;
  drawn: number;
  total: number;
  draws: number;
  tileErrors: number;
  tilesLoaded: number;
}

export function createMapStats(): MapStats {
  return { lastDrawMs: 0, avgDrawMs: 0, maxDrawMs: 0, drawn: 0, total: 0, draws: 0, tileErrors: 0, tilesLoaded: 0 };
}
