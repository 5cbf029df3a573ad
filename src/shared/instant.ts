/**
 * An instant as our APIs take it: ISO-8601 date-time, seconds optional, with a zone (`Z` or ±hh:mm). JSON Schema's
 * `date-time` format lets shapes through that Date.parse reads differently across runtimes; this does not.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of an ISO-8601 instant with a zone, or NaN for anything else. */
export function parseIsoInstant(value: string): number {
  return ISO_INSTANT.test(value) ? Date.parse(value) : NaN;
}
