/**
 * Changes the server refused, shown where they were made: the replica has already taken the server's version back
 * (the change is undone, see data/conflicts.ts); this says so with the server's reason until the operator
 * dismisses it. Refusals never appear in the Conflicts view: re-applying them cannot succeed.
 */
import type { SyncCollection } from '../../../../shared/sync-protocol.js';
import { isRefusal, type ConflictRecord } from '../../data/conflicts';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { plainServerText } from '../../lib/format';
import { panelAction } from './panel-action';

/** The server's reason in plain words (codes and snake_case names read as words, timestamps in the desk's format). */
export function refusalText(refusal: { code: string; message: string }): string {
  const text = plainServerText(refusal.message || refusal.code);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The open refusals of `collection` for which `match` holds, newest first, each with its reason and a dismiss button. */
export function Refusals({
  collection,
  match,
  what,
}: {
  collection: SyncCollection;
  match: (c: ConflictRecord) => boolean;
  /** what was refused, e.g. "Service change", "Command" */
  what: string;
}) {
  const r = useReplica();
  const open = useLiveQuery<ConflictRecord>(
    r?.db.conflicts,
    { selector: { resolved: false, collectionName: collection }, sort: [{ at: 'desc' }], limit: 50 },
    `refusals:${collection}`,
  );
  const mine = open.filter((c) => isRefusal(c) && match(c)).slice(0, 3);
  if (mine.length === 0) return null;
  const act = panelAction('refusals');
  return (
    <ul className="refusals" data-testid="refusals">
      {mine.map((c) => (
        <li key={c.id} className="refusal" role="alert" data-testid="refusal" data-code={c.refusal!.code} data-doc-id={c.docId}>
          <span>
            <strong>{what} not done — the server refused it:</strong> {refusalText(c.refusal!)}. Your change was undone.
          </span>
          <button type="button" className="small" onClick={() => act(r?.actions.dismissConflict(c.id))} aria-label="Dismiss">
            OK
          </button>
        </li>
      ))}
    </ul>
  );
}
