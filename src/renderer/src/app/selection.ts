/** Which vehicle the dispatcher is looking at, and who asked (the map pans only for grid/search requests). */
export type SelectionSource = 'map' | 'grid' | 'search';

export interface Selection {
  id: string | undefined;
  source: SelectionSource;
  /** bumps on every request, so selecting the same vehicle again pans to it again */
  nonce: number;
}

export type SelectVehicle = (id: string | undefined, source: SelectionSource) => void;

export const NO_SELECTION: Selection = { id: undefined, source: 'map', nonce: 0 };
