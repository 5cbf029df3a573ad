/**
 * What the search box matches, for the grid and the map alike: every word of the query, case-insensitively, in the
 * car's plate or id (plates with or without their spaces).
 */
export function vehicleMatcher(query: string, plateOf: (id: string) => string): ((id: string) => boolean) | undefined {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  return (id) => {
    const plate = plateOf(id).toLowerCase();
    const text = `${plate} ${plate.replace(/\s+/g, '')} ${id.toLowerCase()}`;
    return words.every((w) => text.includes(w));
  };
}
