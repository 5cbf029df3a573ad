/**
 * DOM content of the map's hover tooltip. Built with textContent (never innerHTML): plates and model names
 * come from the server and are data, not markup.
 */
import type { VehicleInfo, VehicleLive } from '../../../../shared/fleet.js';
import { BUSINESS_STATE_LABELS, type BusinessState } from '../../data/business-state';
import { energyLabel, formatAgo, formatPercent, formatSpeed } from '../../lib/format';
import type { ScreenCluster } from './screen-clusters';
import { STATE_ORDER } from './vehicle-points';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function vehicleTooltipContent(
  id: string,
  live: VehicleLive | undefined,
  info: VehicleInfo | undefined,
  state: BusinessState,
  moving: boolean,
): HTMLElement {
  const root = el('div', 'vt');
  const head = el('div', 'vt-head');
  head.append(el('span', 'vt-plate', info?.plate ?? id));
  head.append(el('span', `state-pill state-${state}`, BUSINESS_STATE_LABELS[state]));
  if (state !== 'offline') head.append(el('span', 'vt-motion', moving ? 'moving' : 'parked'));
  root.append(head);
  if (info) root.append(el('div', 'vt-sub', `${info.make} ${info.model}`));
  const rows: Array<[string, string]> = [
    ['Speed', formatSpeed(live?.speedKph)],
    [energyLabel(info?.energyType), formatPercent(live?.energyPct)],
    ['Last seen', formatAgo(live?.receivedAt)],
  ];
  const dl = el('dl', 'vt-rows');
  for (const [k, v] of rows) dl.append(el('dt', '', k), el('dd', '', v));
  root.append(dl);
  return root;
}

export function clusterTooltipContent(cluster: ScreenCluster): HTMLElement {
  const root = el('div', 'vt');
  root.append(el('div', 'vt-head', `${cluster.count} vehicles`));
  const dl = el('dl', 'vt-rows');
  for (let s = STATE_ORDER.length - 1; s >= 0; s--) {
    if (!cluster.byState[s]) continue;
    const dt = el('dt', '');
    dt.append(el('i', `legend-dot state-bg-${STATE_ORDER[s]!}`), BUSINESS_STATE_LABELS[STATE_ORDER[s]!]);
    dl.append(dt, el('dd', '', String(cluster.byState[s])));
  }
  root.append(dl, el('div', 'vt-hint', 'Click to zoom in'));
  return root;
}
