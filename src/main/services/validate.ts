/**
 * Structural checks for what the companion server sends. The server is ours, but it is still an integration
 * that may misbehave (a half-deployed version, a proxy error page): nothing unchecked reaches the renderer.
 */
import { isVehicleId } from '../../shared/device-protocol.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown, max = 200): x is string => typeof x === 'string' && x.length <= max;
const isNum = (x: unknown, min: number, max: number): x is number => typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max;
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

export function isVehicleInfo(x: unknown): x is VehicleInfo {
  return (
    isObj(x) &&
    isStr(x['id']) &&
    isVehicleId(x['id']) &&
    isStr(x['plate']) &&
    isStr(x['make']) &&
    isStr(x['model']) &&
    (x['energyType'] === 'fuel' || x['energyType'] === 'electric') &&
    isStr(x['homeZone'])
  );
}

export function isVehicleLive(x: unknown): x is VehicleLive {
  return (
    isObj(x) &&
    isStr(x['id']) &&
    isVehicleId(x['id']) &&
    isNum(x['lat'], -90, 90) &&
    isNum(x['lon'], -180, 180) &&
    isNum(x['speedKph'], 0, 400) &&
    isNum(x['headingDeg'], 0, 360) &&
    isNum(x['energyPct'], 0, 100) &&
    isNum(x['odometerKm'], 0, 10_000_000) &&
    isBool(x['ignition']) &&
    isBool(x['locked']) &&
    isBool(x['doorsClosed']) &&
    isBool(x['online']) &&
    Number.isSafeInteger(x['seq']) &&
    (x['seq'] as number) >= 0 &&
    isNum(x['deviceTs'], 0, 8_640_000_000_000_000) &&
    isNum(x['receivedAt'], 0, 8_640_000_000_000_000)
  );
}
