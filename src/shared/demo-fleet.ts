/**
 * The demo fleet. The server seeds its registry from this and the simulator drives the same ids, so `npm start`
 * works with no set-up. Deterministic: the same n gives the same fleet on every machine. (The area the fleet
 * operates in is `service-area.ts`.)
 */
import type { EnergyType, VehicleInfo } from './fleet.js';

const MODELS: Array<{ make: string; model: string; energyType: EnergyType }> = [
  { make: 'Volkswagen', model: 'ID.3', energyType: 'electric' },
  { make: 'Renault', model: 'Zoe', energyType: 'electric' },
  { make: 'BMW', model: 'i3', energyType: 'electric' },
  { make: 'Volkswagen', model: 'Golf', energyType: 'fuel' },
  { make: 'Opel', model: 'Corsa', energyType: 'fuel' },
  { make: 'Fiat', model: '500', energyType: 'fuel' },
  { make: 'Toyota', model: 'Yaris Hybrid', energyType: 'fuel' },
  { make: 'Mini', model: 'Cooper', energyType: 'fuel' },
];

const ZONES = ['mitte', 'kreuzberg', 'friedrichshain', 'prenzlauer-berg', 'moabit'];
const PLATE_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

/** `veh-00001` … — 1-based, zero-padded to 5 digits (room for 99,999 demo vehicles). */
export function demoVehicleId(index: number): string {
  return `veh-${String(index + 1).padStart(5, '0')}`;
}

export function demoVehicle(index: number): VehicleInfo {
  const m = MODELS[index % MODELS.length]!;
  const letters = PLATE_LETTERS[Math.floor(index / 9000) % PLATE_LETTERS.length]! + PLATE_LETTERS[(index * 7) % PLATE_LETTERS.length]!;
  const digits = 1000 + (index % 9000);
  return {
    id: demoVehicleId(index),
    plate: `B-${letters} ${digits}`,
    make: m.make,
    model: m.model,
    energyType: m.energyType,
    homeZone: ZONES[index % ZONES.length]!,
  };
}

export function demoFleet(count: number): VehicleInfo[] {
  return Array.from({ length: count }, (_, i) => demoVehicle(i));
}
