import { describe, expect, it } from 'vitest';
import { parseRange } from './replicated-rows.js';

const ms = (iso: string) => Date.parse(iso);

describe('parseRange (tombstones keep the period as text)', () => {
  it('reads PostgreSQL range text with time zones, fractions and infinity', () => {
    expect(parseRange('["2025-03-01 10:00:00+00","2025-03-01 11:30:00+00")')).toEqual({
      lower: ms('2025-03-01T10:00:00Z'),
      upper: ms('2025-03-01T11:30:00Z'),
    });
    expect(parseRange('["2025-03-01 10:00:00.25+01",infinity)')).toEqual({ lower: ms('2025-03-01T09:00:00.250Z'), upper: null });
    expect(parseRange('["2025-03-01 10:00:00+05:30","2025-03-01T12:00:00Z"]')).toEqual({
      lower: ms('2025-03-01T04:30:00Z'),
      upper: ms('2025-03-01T12:00:00Z'),
    });
    expect(parseRange('garbage')).toEqual({ lower: null, upper: null });
  });
});
