/** Vehicle import files for tests: plates and VINs unique to the run (runs may share one PostgreSQL server). */
import { randomBytes } from 'node:crypto';

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';

export interface TestFleetFile {
  csv: string;
  /** plates in file order */
  plates: string[];
  vins: string[];
}

/**
 * `count` vehicles (`homeZone` column included, left empty). `badLine`: that line (header = 1) gets a VIN with an
 * `O` in it, which no VIN may contain.
 */
export function testFleetCsv(count: number, options: { badLine?: number; tag?: string } = {}): TestFleetFile {
  const tag = options.tag ?? Array.from(randomBytes(4), (b) => VIN_CHARS[b % VIN_CHARS.length]).join('');
  const plates: string[] = [];
  const vins: string[] = [];
  const lines = ['plate,vin,make,model,energyType,homeZone'];
  for (let i = 0; i < count; i++) {
    const plate = `T-${tag} ${i + 1}`;
    let vin = `WVW${tag}${String(i).padStart(10, '0')}`;
    if (options.badLine === i + 2) vin = `${vin.slice(0, 16)}O`;
    plates.push(plate);
    vins.push(vin);
    lines.push(`${plate},${vin},${i % 2 === 0 ? 'Volkswagen' : 'Renault'},${i % 2 === 0 ? 'ID.3' : 'Zoe'},electric,`);
  }
  return { csv: `${lines.join('\n')}\n`, plates, vins };
}
