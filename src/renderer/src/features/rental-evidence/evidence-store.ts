/**
 * Which rental's evidence is open (one at a time, over whichever view is shown). Opened from the customer 360's
 * rental cards, the vehicle timeline and the top bar's search by rental id; the desk renders the drawer once
 * (RentalEvidenceHost). A small external store, so the openers need no props threaded through the app.
 */
import { useSyncExternalStore } from 'react';

let openId: string | undefined;
const listeners = new Set<() => void>();
const set = (id: string | undefined) => {
  openId = id;
  for (const l of listeners) l();
};

export const rentalEvidence = {
  open: (rentalId: string): void => set(rentalId),
  close: (): void => set(undefined),
  get: (): string | undefined => openId,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export function useOpenRentalEvidence(): string | undefined {
  return useSyncExternalStore(rentalEvidence.subscribe, rentalEvidence.get);
}
