/**
 * The replica's customers (support and admin only) in memory, searchable by name, e-mail, phone or licence
 * number — offline too. Phone numbers match on their digits (`+49 30 1234` finds `030 1234…` by `301234`).
 */
import type { CustomerDoc } from '../../../shared/sync-protocol.js';

interface Entry {
  doc: CustomerDoc;
  text: string;
  digits: string;
}

const byId = new Map<string, Entry>();
const listeners = new Set<() => void>();

const fold = (s: string): string =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

function entry(doc: CustomerDoc): Entry {
  return {
    doc,
    text: fold([doc.name, doc.email, doc.phone, doc.licenceNumber ?? '', doc.id].join('\n')),
    digits: doc.phone.replace(/\D/g, ''),
  };
}

export const replicaCustomers = {
  get: (id: string): CustomerDoc | undefined => byId.get(id)?.doc,
  size: (): number => byId.size,
  replace(docs: readonly CustomerDoc[]): void {
    byId.clear();
    for (const d of docs) byId.set(d.id, entry(d));
    for (const l of listeners) l();
  },
  subscribe(cb: () => void): () => void {
    listeners.add(cb);
    return () => listeners.delete(cb);
  },
  /** Customers matching every word of `query` (name, e-mail, phone, licence), best first (see searchCustomers). */
  search(query: string, limit = 50): CustomerDoc[] {
    return searchCustomers(
      [...byId.values()].map((e) => e.doc),
      query,
      limit,
      (d) => byId.get(d.id) ?? entry(d),
    );
  },
};

/** Pure search (tested): every word must occur in the text; a word of 4+ digits also matches the phone's digits. */
export function searchCustomers(
  docs: readonly CustomerDoc[],
  query: string,
  limit = 50,
  entryOf: (d: CustomerDoc) => Entry = entry,
): CustomerDoc[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const scored: Array<{ doc: CustomerDoc; score: number }> = [];
  for (const d of docs) {
    const e = entryOf(d);
    let score = 0;
    let all = true;
    for (const w of words) {
      const digits = w.replace(/\D/g, '');
      const inText = e.text.indexOf(w);
      const inPhone = digits.length >= 4 && digits.length === w.replace(/[\s+()/.-]/g, '').length ? e.digits.indexOf(digits) : -1;
      if (inText < 0 && inPhone < 0) {
        all = false;
        break;
      }
      // the start of the name ranks first, then the start of any word, then anywhere
      score += inText === 0 ? 3 : inText > 0 && /[\s\n@.]/.test(e.text[inText - 1]!) ? 2 : 1;
    }
    if (all) scored.push({ doc: d, score });
  }
  scored.sort((a, b) => b.score - a.score || a.doc.name.localeCompare(b.doc.name));
  return scored.slice(0, limit).map((s) => s.doc);
}
