/**
 * The base map's tile layer, its tiles through TileCache (the operating area's kept for offline use). Leaflet's
 * `tileload`/`tileerror` events stay as they are (the map's tile notice counts them); `tilesource` says where each
 * loaded tile came from.
 */
import L from 'leaflet';
import { useEffect } from 'react';
import { useMap } from 'react-leaflet';
import type { TileCache, TileSource } from './tile-cache';

export interface TileSourceEvent {
  source: TileSource | 'direct';
}

function cachingLayer(url: string, options: L.TileLayerOptions, cache: TileCache): L.TileLayer {
  const Layer = L.TileLayer.extend({
    createTile(this: L.TileLayer, coords: L.Coords, done: L.DoneCallback): HTMLElement {
      const img = document.createElement('img');
      img.alt = '';
      img.setAttribute('role', 'presentation');
      const src = this.getTileUrl(coords);
      const show = (href: string, source: TileSourceEvent['source'], revoke: boolean) => {
        img.onload = () => {
          if (revoke) URL.revokeObjectURL(href);
          this.fire('tilesource', { source } satisfies TileSourceEvent);
          done(undefined, img);
        };
        img.onerror = () => {
          if (revoke) URL.revokeObjectURL(href);
          done(new Error('the tile image could not be shown'), img);
        };
        img.src = href;
      };
      cache.load(src, coords).then(
        (got) => (got ? show(URL.createObjectURL(got.blob), got.source, true) : show(src, 'direct', false)),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err)), img),
      );
      return img;
    },
  });
  return new (Layer as unknown as new (u: string, o: L.TileLayerOptions) => L.TileLayer)(url, options);
}

export function CachedTileLayer({
  url,
  attribution,
  cache,
  events,
}: {
  url: string;
  attribution: string;
  cache: TileCache;
  events: L.LeafletEventHandlerFnMap;
}) {
  const map = useMap();
  useEffect(() => {
    const layer = cachingLayer(url, { attribution, maxZoom: 19 }, cache);
    layer.on(events);
    layer.addTo(map);
    return () => {
      layer.off(events);
      layer.remove();
    };
  }, [map, url, attribution, cache, events]);
  return null;
}
