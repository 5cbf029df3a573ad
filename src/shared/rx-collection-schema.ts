/**
 * TypeBox building blocks for the replica's documents: one `Type.Object` per document gives both its TS type
 * (`Static`) and its RxDB JSON schema (`rxCollectionSchema`). RxDB wants a few things TypeBox writes differently
 * (`type: ['string', 'null']` rather than an `anyOf`, a string `enum` rather than a union of literals): the helpers
 * here write them RxDB's way so the schemas stay exactly what the replica has stored (sync-protocol.test.ts).
 */
import { Type, type Static, type TObject, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string with one of these values (`{type: 'string', enum}`); RxDB needs a `maxLength` on indexed ones. */
export function stringEnum<const V extends readonly string[]>(values: V, options: { maxLength?: number } = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** The schema or null (`type: [t, 'null']`). A nullable field is not `required` in the RxDB schema (the document may omit it). */
export function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type as string, 'null'] });
}

/** A JSON object the replica does not look into (`{type: 'object'}`), typed `T`. */
export const opaqueObject = <T extends object>(): TUnsafe<T> => Type.Unsafe<T>({ type: 'object' });

/** An object whose fields are all optional in the stored schema (no `required`), typed as declared. */
export function looseObject<T extends TObject>(schema: T): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>({ type: 'object', properties: schema.properties });
}

export interface RxCollectionSchema {
  version: number;
  primaryKey: 'id';
  type: 'object';
  properties: Readonly<Record<string, object>>;
  required: readonly string[];
  indexes?: ReadonlyArray<string | readonly string[]>;
}

const isNullable = (s: TSchema): boolean => Array.isArray(s.type) && (s.type as unknown[]).includes('null');

/**
 * The RxDB JSON schema of a document: its properties, `required` = the fields neither optional nor nullable (in
 * property order), plus RxDB's `version`, `primaryKey: 'id'` and `indexes`. Plain JSON (TypeBox's symbols dropped):
 * RxDB hashes it to recognise the stored collection.
 */
export function rxCollectionSchema(
  doc: TObject,
  options: { version: number; indexes?: ReadonlyArray<string | readonly string[]> },
): RxCollectionSchema {
  const plain = JSON.parse(JSON.stringify(doc)) as { properties: Record<string, object>; required?: string[] };
  const required = Object.keys(doc.properties).filter((k) => (doc.required ?? []).includes(k) && !isNullable(doc.properties[k]!));
  return {
    version: options.version,
    primaryKey: 'id',
    type: 'object',
    properties: plain.properties,
    required,
    ...(options.indexes ? { indexes: JSON.parse(JSON.stringify(options.indexes)) as Array<string | string[]> } : {}),
  };
}
