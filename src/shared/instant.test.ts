import { describe, expect, it } from 'vitest';
import { parseIsoInstant } from './instant.js';

describe('parseIsoInstant', () => {
  it('reads ISO-8601 instants with a zone', () => {
    expect(parseIsoInstant('2025-06-01T10:00:00Z')).toBe(Date.UTC(2025, 5, 1, 10));
    expect(parseIsoInstant('2025-06-01T12:00+02:00')).toBe(Date.UTC(2025, 5, 1, 10));
    expect(parseIsoInstant('2025-06-01T10:00:00.123456789z')).toBe(Date.UTC(2025, 5, 1, 10, 0, 0, 123));
  });
  it('refuses anything without a zone or in another shape', () => {
    for (const bad of ['2025-06-01T10:00:00', '2025-06-01', '1748772000000', 'June 1, 2025 10:00 UTC', '2025-13-01T10:00:00Z', '']) {
      expect(parseIsoInstant(bad), bad).toBeNaN();
    }
  });
});
