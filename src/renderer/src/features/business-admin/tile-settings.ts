/** The base tiles the desk's fleet map uses (the host's FLEETDESK_TILE_URL / _DIR), for the back office's own maps. */
import { useAppInfoContext } from '../../app/hooks';

export interface TileSettings {
  url: string;
  attribution: string;
}

/** undefined until the host's app info is known (the same one the fleet map uses) */
export function useTileSettings(): TileSettings | undefined {
  const info = useAppInfoContext();
  return info ? { url: info.tileUrl, attribution: info.tileAttribution } : undefined;
}
