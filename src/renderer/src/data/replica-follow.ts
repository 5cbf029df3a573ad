/**
 * A replica collection read once and then per changed document (RxDB change events), never by re-reading the
 * whole collection: at 20,000 vehicles, whose coarse snapshots change hundreds of times a second, a re-read per
 * change is a query result of every document, each turned into JSON, on the desk's main thread.
 */
import type { RxCollection } from 'rxdb';

/**
 * Events are subscribed to before the initial read and replayed after it, in order, so a change that lands in
 * between is neither lost nor applied out of order (the index keeps the last document per id).
 */
export function followCollection<T>(collection: RxCollection<T> | undefined, apply: (docs: T[]) => void): () => void {
  if (!collection) return () => undefined;
  let buffered: T[] | undefined = [];
  let closed = false;
  const sub = collection.$.subscribe((e) => {
    const doc = { ...(e.documentData as T), _deleted: e.operation === 'DELETE' || (e.documentData as { _deleted?: boolean })._deleted };
    if (buffered) buffered.push(doc);
    else apply([doc]);
  });
  collection
    .find()
    .exec()
    .then(
      (docs) => {
        if (closed) return;
        apply(docs.map((d) => d.toJSON() as T));
        const later = buffered ?? [];
        buffered = undefined;
        apply(later);
      },
      (err: unknown) => console.error(`[replica] could not read ${collection.name}`, err),
    );
  return () => {
    closed = true;
    sub.unsubscribe();
  };
}
