/** What a refused (or failed) staff API call says to the admin, in plain words: the server's own reason when it gave one. */
import { StaffApiError } from '../../data/open';
import { plainServerText } from '../../lib/format';

export function refusalText(err: unknown): string {
  if (err instanceof StaffApiError) {
    if (err.status === 403) return `Your role may not do this${err.problem?.detail ? `: ${plainServerText(err.problem.detail)}` : '.'}`;
    if (err.problem?.detail) return plainServerText(err.problem.detail);
    if (err.status === 0 || err.status >= 500) return 'The server could not do this right now; nothing was changed. Try again in a moment.';
    return `The server refused this (HTTP ${err.status}).`;
  }
  return 'The server cannot be reached; nothing was changed. Try again when the desk is back online.';
}
