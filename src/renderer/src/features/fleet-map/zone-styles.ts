/** How each kind of zone is drawn on the map and named in the legend. */
import type { PathOptions } from 'leaflet';
import type { ZoneDoc } from '../../../../shared/sync-protocol.js';

export type ZoneKind = ZoneDoc['kind'];

export const ZONE_KIND_LABELS: Record<ZoneKind, string> = {
  operating: 'Operating zone',
  no_parking: 'No parking',
  service: 'Service zone',
};

export const ZONE_STYLES: Record<ZoneKind, PathOptions & { color: string; fillColor: string }> = {
  operating: { color: '#0ea5e9', weight: 2, dashArray: '6 5', fillColor: '#38bdf8', fillOpacity: 0.07 },
  no_parking: { color: '#dc2626', weight: 2, dashArray: '2 4', fillColor: '#f87171', fillOpacity: 0.16 },
  service: { color: '#7c3aed', weight: 2, fillColor: '#a78bfa', fillOpacity: 0.14 },
};
