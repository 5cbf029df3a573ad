/**
 * Conditional GETs (RFC 9110 §13.1.2): a client that holds a representation sends its entity tag in `If-None-Match`;
 * when the tag still matches, the server answers 304 Not Modified with no body, and the client keeps what it has.
 */

/** A strong entity tag (quoted) for an opaque version string. */
export function entityTag(version: string): string {
  return `"${version}"`;
}

/**
 * Whether an `If-None-Match` header matches the current tag (weak comparison, as §13.1.2 asks for GET): `*`, or a
 * comma-separated list of tags with or without the `W/` prefix. No header (or an empty one) never matches.
 */
export function noneMatchHits(header: string | string[] | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  const opaque = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  for (const raw of value.split(',')) {
    const candidate = raw.trim();
    if (candidate === '*') return true;
    if (candidate !== '' && opaque(candidate) === opaque(tag)) return true;
  }
  return false;
}
