/**
 * What the search box matches, for the grid and the map alike: every word of the query, case-insensitively, in the
 * car's plate or id (plates with or without their spaces).
 *
 * The grid asks again for every row after each batch of changes (20,000 rows several times a second while a search
 * is active): the answer is kept per car and recomputed only when the car's plate changed.
 */
export function vehicleMatcher(query: string, plateOf: (id: string) => string): ((id: string) => boolean) | undefined {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  const known = new Map<string, { plate: string; hit: boolean }>();
  return (id) => {
    const plate = plateOf(id);
    const cached = known.get(id);
    if (cached && cached.plate === plate) return cached.hit;
    const lower = plate.toLowerCase();
    const text = `${lower} ${lower.replace(/\s+/g, '')} ${id.toLowerCase()}`;
    const hit = words.every((w) => text.includes(w));
    known.set(id, { plate, hit });
    return hit;
  };
}
