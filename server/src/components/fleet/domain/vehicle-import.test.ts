import { describe, expect, it } from 'vitest';
import { MAX_IMPORT_ROWS } from '../../../../../src/shared/vehicle-registry.js';
import { checkRows, parseVehicleCsv } from './vehicle-import.js';

const empty = { plates: new Set<string>(), vins: new Set<string>(), homeZones: new Set(['mitte']) };
const HEADER = 'plate,vin,make,model,energyType,homeZone';

describe('vehicle CSV import checks', () => {
  it('reads rows with their line numbers (header = 1, blank lines counted) and normalises plate, VIN and energy type', () => {
    const { rows, errors } = parseVehicleCsv(
      `${HEADER}\r\nb-ab  123 ,wvwzzz1jzxw000001,VW,Golf,FUEL,mitte\r\n\r\n"B-CD 9",WVWZZZ1JZXW000002,VW,"ID.3",electric,\r\n`,
    );
    expect(errors).toEqual([]);
    expect(rows.map((r) => r.line)).toEqual([2, 4]);
    const checked = checkRows(rows, empty);
    expect(checked.errors).toEqual([]);
    expect(checked.rows[0]!.fields).toEqual({
      plate: 'B-AB 123',
      vin: 'WVWZZZ1JZXW000001',
      make: 'VW',
      model: 'Golf',
      energyType: 'fuel',
      homeZone: 'mitte',
    });
    expect(checked.rows[1]!.fields.homeZone).toBe('');
  });

  it('names every bad row and field: VIN format, duplicates in the file and in the registry, energy type, unknown zone', () => {
    const csv = [
      'plate,vin,make,model,energyType,homeZone',
      'B-AA 1,WVWZZZ1JZXW00000I,VW,Golf,fuel,',
      'B-AA 2,WVWZZZ1JZXW000002,VW,Golf,diesel,',
      'B-AA 3,WVWZZZ1JZXW000003,VW,Golf,fuel,atlantis',
      'b-aa 2,WVWZZZ1JZXW000002,VW,Golf,fuel,',
      ',WVWZZZ1JZXW000005,,Golf,fuel,',
      'B-TAKEN,WVWZZZ1JZXW000006,VW,Golf,fuel,',
      'B-AA 7,SHORT,VW,Golf,fuel,',
    ].join('\n');
    const { rows, errors } = parseVehicleCsv(csv);
    expect(errors).toEqual([]);
    const checked = checkRows(rows, { ...empty, plates: new Set(['B-TAKEN']) });
    expect(checked.rows).toEqual([]);
    expect(checked.errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'vin'],
      [3, 'energyType'],
      [4, 'homeZone'],
      [5, 'plate'],
      [5, 'vin'],
      [6, 'plate'],
      [6, 'make'],
      [7, 'plate'],
      [8, 'vin'],
    ]);
    expect(checked.errors.find((e) => e.line === 5 && e.field === 'plate')!.message).toBe('plate B-AA 2 is also on line 3');
    expect(checked.errors.find((e) => e.line === 2)!.message).toMatch(/I, O or Q/);
  });

  it('refuses the file as a whole: empty, unknown or missing columns, header only, too many rows, ragged rows', () => {
    expect(parseVehicleCsv('  \n').errors).toEqual([{ line: 1, field: 'file', message: 'the file is empty' }]);
    expect(parseVehicleCsv('plate,vin,make,colour,energyType\n').errors.map((e) => e.field)).toEqual(['colour', 'model', 'file']);
    const many = [
      HEADER,
      ...Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => `B-X ${i},WVWZZZ1JZXW${String(i).padStart(6, '0')},VW,Golf,fuel,`),
    ];
    expect(parseVehicleCsv(many.join('\n')).errors).toEqual([
      { line: 1, field: 'file', message: `the file has more than ${MAX_IMPORT_ROWS} vehicles; split it into smaller files` },
    ]);
    expect(parseVehicleCsv(`${HEADER}\nB-A 1,WVWZZZ1JZXW000001,VW\n`).errors).toEqual([
      { line: 2, field: 'row', message: 'expected 6 values, found 3' },
    ]);
    expect(parseVehicleCsv(`${HEADER}\n"B-A 1,WVW`).errors[0]).toMatchObject({ field: 'file' });
  });
});
