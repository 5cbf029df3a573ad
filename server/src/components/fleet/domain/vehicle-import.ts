/**
 * The checks of vehicles an admin registers, one at a time or as a CSV file (`plate,vin,make,model,energyType[,homeZone]`):
 * pure functions over the rows and what the registry already holds, so every bad row of a file is named at once
 * (its line number in the file, the header being line 1) and nothing is written unless all rows are good.
 */
import { parse } from 'csv-parse/sync';
import type { EnergyType } from '../../../../../src/shared/fleet.js';
import {
  energyTypeProblem,
  homeZoneProblem,
  IMPORT_COLUMNS,
  MAX_IMPORT_ROWS,
  nameProblem,
  normalizePlate,
  normalizeVin,
  plateProblem,
  REQUIRED_IMPORT_COLUMNS,
  vinProblem,
  type RowError,
  type VehicleFields,
} from '../../../../../src/shared/vehicle-registry.js';

/** A row of input, as typed (unnormalised), with the line it came from. */
export interface InputRow {
  line: number;
  plate: string;
  /** null: not recorded (a vehicle registered before VINs were, edited without giving one) */
  vin: string | null;
  make: string;
  model: string;
  energyType: string;
  homeZone?: string;
}

/** A row that passed every check, normalised. */
export interface CheckedRow {
  line: number;
  fields: Omit<Required<VehicleFields>, 'vin'> & { vin: string | null };
}

export interface RegistryView {
  plates: ReadonlySet<string>;
  vins: ReadonlySet<string>;
  homeZones: ReadonlySet<string>;
}

/** Reads a CSV file into rows; problems with the file as a whole (header, size, syntax) are RowErrors too. */
export function parseVehicleCsv(text: string): { rows: InputRow[]; errors: RowError[] } {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return { rows: [], errors: [{ line: 1, field: 'file', message: 'the file is empty' }] };
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(body, {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      // one more than allowed, so "too many" is known without reading a huge file to its end
      to: MAX_IMPORT_ROWS + 2,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    return {
      rows: [],
      errors: [{ line: e.lines ?? 1, field: 'file', message: `the file is not valid CSV: ${e.message ?? 'unreadable'}` }],
    };
  }
  const [header, ...data] = records;
  if (!header) return { rows: [], errors: [{ line: 1, field: 'file', message: 'the file is empty' }] };
  const names = header.record.map((h) => h.trim());
  const errors: RowError[] = [];
  for (const n of names)
    if (!(IMPORT_COLUMNS as readonly string[]).includes(n))
      errors.push({ line: 1, field: n || '(blank)', message: `unknown column "${n}"; the columns are ${IMPORT_COLUMNS.join(', ')}` });
  for (const n of REQUIRED_IMPORT_COLUMNS) if (!names.includes(n)) errors.push({ line: 1, field: n, message: `column "${n}" is missing` });
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  for (const n of new Set(dupes)) errors.push({ line: 1, field: n, message: `column "${n}" appears twice` });
  if (data.length === 0) errors.push({ line: 1, field: 'file', message: 'the file has a header but no vehicles' });
  if (data.length > MAX_IMPORT_ROWS)
    errors.push({ line: 1, field: 'file', message: `the file has more than ${MAX_IMPORT_ROWS} vehicles; split it into smaller files` });
  if (errors.length > 0) return { rows: [], errors };
  const col = (name: string) => names.indexOf(name);
  const rows: InputRow[] = [];
  for (const { record, info } of data) {
    const line = info.lines;
    if (record.length !== names.length) {
      errors.push({ line, field: 'row', message: `expected ${names.length} values, found ${record.length}` });
      continue;
    }
    const value = (name: string) => (col(name) < 0 ? undefined : record[col(name)]!);
    rows.push({
      line,
      plate: value('plate')!,
      vin: value('vin')!,
      make: value('make')!,
      model: value('model')!,
      energyType: value('energyType')!,
      ...(col('homeZone') < 0 ? {} : { homeZone: value('homeZone')! }),
    });
  }
  return { rows, errors };
}

/**
 * Checks every row against the rules, against each other (the same plate or VIN twice in the input) and against
 * the registry. All the errors, in line order; the checked rows only when there are none.
 */
export function checkRows(input: readonly InputRow[], registry: RegistryView): { rows: CheckedRow[]; errors: RowError[] } {
  const errors: RowError[] = [];
  const rows: CheckedRow[] = [];
  const platesSeen = new Map<string, number>();
  const vinsSeen = new Map<string, number>();
  for (const r of input) {
    const before = errors.length;
    const fail = (field: string, message: string | null) => {
      if (message) errors.push({ line: r.line, field, message });
    };
    const plate = normalizePlate(r.plate);
    const vin = r.vin === null ? null : normalizeVin(r.vin);
    fail('plate', plateProblem(plate));
    if (vin !== null) fail('vin', vinProblem(vin));
    fail('make', nameProblem('make', r.make));
    fail('model', nameProblem('model', r.model));
    fail('energyType', energyTypeProblem(r.energyType.trim().toLowerCase()));
    const homeZone = (r.homeZone ?? '').trim().toLowerCase();
    if (homeZone !== '') {
      const shape = homeZoneProblem(homeZone);
      fail('homeZone', shape ?? (registry.homeZones.has(homeZone) ? null : `unknown home zone "${homeZone}"`));
    }
    if (plate !== '') {
      const first = platesSeen.get(plate);
      if (first !== undefined) fail('plate', `plate ${plate} is also on line ${first}`);
      else platesSeen.set(plate, r.line);
      if (registry.plates.has(plate)) fail('plate', `plate ${plate} is already registered`);
    }
    if (vin) {
      const first = vinsSeen.get(vin);
      if (first !== undefined) fail('vin', `VIN ${vin} is also on line ${first}`);
      else vinsSeen.set(vin, r.line);
      if (registry.vins.has(vin)) fail('vin', `VIN ${vin} is already registered`);
    }
    if (errors.length === before)
      rows.push({
        line: r.line,
        fields: {
          plate,
          vin,
          make: r.make.trim(),
          model: r.model.trim(),
          energyType: r.energyType.trim().toLowerCase() as EnergyType,
          homeZone,
        },
      });
  }
  return errors.length > 0 ? { rows: [], errors } : { rows, errors };
}
