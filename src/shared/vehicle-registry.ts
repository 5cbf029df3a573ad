/**
 * The vehicle registry as an admin edits it (staff API `/ops/v1/vehicles…`, the desk's back office): the field
 * rules, declared once so the server's checks and the desk's form validation cannot drift, the shape of a bad
 * import row, and the installer's credentials file (server and desk write the same columns).
 */
import type { EnergyType } from './fleet.js';

export const ENERGY_TYPES: readonly EnergyType[] = ['fuel', 'electric'];

/** CSV import: the header row, in this order; `homeZone` may be left out. */
export const IMPORT_COLUMNS = ['plate', 'vin', 'make', 'model', 'energyType', 'homeZone'] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
export const REQUIRED_IMPORT_COLUMNS: readonly ImportColumn[] = ['plate', 'vin', 'make', 'model', 'energyType'];
/** Rows per import file at most (the header not counted). */
export const MAX_IMPORT_ROWS = 5_000;
/** Bytes per import file at most. */
export const MAX_IMPORT_BYTES = 1_048_576;

/** A vehicle as the registry holds it (admin view: with VIN and retirement). */
export interface RegisteredVehicle {
  id: string;
  plate: string;
  /** null: registered before VINs were recorded (the demo fleet) */
  vin: string | null;
  make: string;
  model: string;
  energyType: EnergyType;
  homeZone: string;
  /** epoch ms; null while in the fleet */
  retiredAt: number | null;
  createdAt: number;
}

export interface VehicleFields {
  plate: string;
  vin: string;
  make: string;
  model: string;
  energyType: EnergyType;
  homeZone?: string;
}

/** One reason a row (or a field of a single vehicle) was refused; `line` is the file's line number, header = 1. */
export interface RowError {
  line: number;
  field: string;
  message: string;
}

/** Upper case, spaces trimmed and collapsed: `b-ab  123` → `B-AB 123`. */
export function normalizePlate(raw: string): string {
  return raw.trim().replace(/\s+/g, ' ').toUpperCase();
}

const PLATE_RE = /^[A-Z0-9ÄÖÜ](?:[A-Z0-9ÄÖÜ -]{0,18}[A-Z0-9ÄÖÜ])?$/;
/** 17 characters, digits and capital letters except I, O and Q (ISO 3779). */
const VIN_RE = /^[A-HJ-NPR-Z0-9]{17}$/;
const HOME_ZONE_RE = /^[a-z0-9-]{1,60}$/;

export const normalizeVin = (raw: string): string => raw.trim().toUpperCase();

/** Plates in the order people expect: `B-X 2` before `B-X 10`. */
export const comparePlates = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });

/** Why a plate (already normalised) is not acceptable, or null. */
export function plateProblem(plate: string): string | null {
  if (plate === '') return 'plate is empty';
  if (plate.length > 20) return 'plate is longer than 20 characters';
  if (!PLATE_RE.test(plate)) return 'plate may only contain letters, digits, spaces and hyphens';
  return null;
}

/** Why a VIN (already normalised) is not acceptable, or null. */
export function vinProblem(vin: string): string | null {
  if (vin === '') return 'VIN is empty';
  if (vin.length !== 17) return `VIN must be 17 characters (has ${vin.length})`;
  if (/[IOQ]/.test(vin)) return 'VIN may not contain the letters I, O or Q';
  if (!VIN_RE.test(vin)) return 'VIN may only contain the letters A–Z and digits';
  return null;
}

export function nameProblem(field: 'make' | 'model', value: string): string | null {
  if (value.trim() === '') return `${field} is empty`;
  if (value.trim().length > 60) return `${field} is longer than 60 characters`;
  return null;
}

export function energyTypeProblem(value: string): string | null {
  return (ENERGY_TYPES as readonly string[]).includes(value) ? null : `energy type must be fuel or electric (got "${value}")`;
}

/** Shape only; whether the zone exists is the server's check. */
export function homeZoneProblem(value: string): string | null {
  return HOME_ZONE_RE.test(value) ? null : 'home zone must be 1–60 characters of a–z, 0–9 and -';
}

/** A device's credentials as handed to the installer (once). */
export interface InstallerCredential {
  vehicleId: string;
  plate: string;
  username: string;
  password: string;
  brokerUrl: string;
}

/** What provisioning answers per device (the secret once): the installer's line, and whether it replaced credentials. */
export interface IssuedDeviceCredential extends InstallerCredential {
  /** the device had credentials; the previous secret no longer works */
  rotated: boolean;
}

const INSTALLER_COLUMNS: ReadonlyArray<keyof InstallerCredential> = ['vehicleId', 'plate', 'username', 'password', 'brokerUrl'];

/** The installer's file: CSV, a header row, one device per line (RFC 4180 quoting). */
export function installerCsv(rows: readonly InstallerCredential[]): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return [INSTALLER_COLUMNS.join(','), ...rows.map((r) => INSTALLER_COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
