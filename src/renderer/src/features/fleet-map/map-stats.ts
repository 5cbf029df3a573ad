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
  /** the map's base tiles as the map itself sees them (the notice on the map says the same), and since when */
  tileStatus: TileStatus;
  tileStatusSince: number | undefined;
}

/** `cached`: the tile server cannot be reached, the tiles shown are the ones kept on this computer */
export type TileStatus = 'loading' | 'ok' | 'cached' | 'unreachable' | 'none';

export function createMapStats(): MapStats {
  return {
    lastDrawMs: 0,
    avgDrawMs: 0,
    maxDrawMs: 0,
    drawn: 0,
    total: 0,
    draws: 0,
    tileStatus: 'none',
    tileStatusSince: undefined,
  };
}

export interface TileHealth {
  state: 'up' | 'degraded' | 'down' | 'unknown';
  /** in words, for the Health panel */
  words: string;
  /** for the status bar; undefined when there is nothing to say */
  short: string | undefined;
}

/** The map tiles' health, one reading for the status bar and the Health panel (the same as the map's own notice). */
export function tileHealth(status: TileStatus): TileHealth {
  switch (status) {
    case 'ok':
      return { state: 'up', words: 'tiles load from the tile server', short: undefined };
    case 'loading':
      return { state: 'unknown', words: 'loading the first tiles', short: undefined };
    case 'cached':
      return {
        state: 'degraded',
        words: 'the tile server cannot be reached: showing the streets kept on this computer',
        short: 'base map: kept tiles only',
      };
    case 'unreachable':
      return {
        state: 'down',
        words: 'the tile server cannot be reached and no streets are kept on this computer for this view',
        short: 'base map unavailable',
      };
    case 'none':
      return { state: 'unknown', words: 'no base map configured', short: 'no base map configured' };
  }
}
