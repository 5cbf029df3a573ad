/**
 * The service area: where the fleet operates (operating-zone outline, bounds, centre) — the server's operating
 * zone (zone alerts, where a rental may end, the GBFS feed, the replica's zones), the streets the simulator drives
 * and the zone the desktop map draws. `DEFAULT_SERVICE_AREA` is the documented default.
 */

export interface LatLon {
  lat: number;
  lon: number;
}

export interface ServiceArea {
  id: string;
  name: string;
  center: LatLon;
  /** [south-west, north-east] */
  bounds: [LatLon, LatLon];
  /** operating-zone outline (closed ring, lon/lat order as GeoJSON) */
  polygon: Array<[number, number]>;
}

/** Berlin's inner city: Mitte, Kreuzberg, Friedrichshain, Prenzlauer Berg, Moabit. */
export const DEFAULT_SERVICE_AREA: ServiceArea = {
  id: 'berlin-inner',
  name: 'Berlin — inner city',
  center: { lat: 52.515, lon: 13.405 },
  bounds: [
    { lat: 52.488, lon: 13.335 },
    { lat: 52.545, lon: 13.465 },
  ],
  polygon: [
    [13.335, 52.5],
    [13.36, 52.488],
    [13.43, 52.488],
    [13.465, 52.5],
    [13.465, 52.535],
    [13.43, 52.545],
    [13.36, 52.545],
    [13.335, 52.53],
    [13.335, 52.5],
  ],
};
