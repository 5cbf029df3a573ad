import { describe, expect, it } from 'vitest';
import fixture from './sync-schemas.fixture.json' with { type: 'json' };
import { RX_SCHEMAS, SYNC_COLLECTIONS } from './sync-protocol.js';

/** Plain JSON: RxDB hashes `JSON.stringify` of the schema (keys sorted, arrays as they are). */
const asStored = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

// The replica's stored documents and migrations depend on these exact schemas: a changed one makes RxDB refuse the
// stored collection (another schema hash) or need a version bump. The fixture is what the replica has today.
describe('RX_SCHEMAS', () => {
  it.each(SYNC_COLLECTIONS)('%s equals the stored schema (version, properties, required, indexes, limits)', (c) => {
    expect(asStored(RX_SCHEMAS[c])).toStrictEqual((fixture as Record<string, unknown>)[c]);
  });

  it('covers every collection and nothing else', () => {
    expect(Object.keys(RX_SCHEMAS).sort()).toEqual([...SYNC_COLLECTIONS].sort());
    expect(Object.keys(fixture).sort()).toEqual([...SYNC_COLLECTIONS].sort());
  });

  it('holds plain JSON (what RxDB and the server validator see)', () => {
    for (const c of SYNC_COLLECTIONS) expect(RX_SCHEMAS[c]).toStrictEqual(asStored(RX_SCHEMAS[c]));
  });
});
