/** The base tiles the desk's fleet map uses (the host's FLEETDESK_TILE_URL / _DIR), for the back office's own maps. */
import { useEffect, useState } from 'react';
import { getDesktopApi } from '../../bridge';

export interface TileSettings {
  url: string;
  attribution: string;
}

export function useTileSettings(): TileSettings | undefined {
  const [tiles, setTiles] = useState<TileSettings | undefined>(undefined);
  useEffect(() => {
    let cancelled = false;
    getDesktopApi()
      .app.getInfo()
      .then(
        (info) => !cancelled && setTiles({ url: info.tileUrl, attribution: info.tileAttribution }),
        () => !cancelled && setTiles({ url: '', attribution: '' }),
      );
    return () => {
      cancelled = true;
    };
  }, []);
  return tiles;
}
