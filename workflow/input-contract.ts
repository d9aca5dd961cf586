import contract from './input-contract.json';

/** Silver name -> the header the contract names; matched ignoring case, spaces and underscores. */
export const REQUIRED_COLUMNS: Readonly<Record<'done_on' | 'extension' | 'action' | 'details', string>> =
  contract.requiredColumns;

/** Every accepted `Done On` form, tried in order (strptime codes). */
export const TIMESTAMP_FORMATS: readonly string[] = contract.timestampFormats;

export type RequiredColumn = keyof typeof REQUIRED_COLUMNS;

export function normalizeHeader(name: string): string {
  return name.replace(/[\s_]/g, '').toLowerCase();
}

/**
 * Maps each required column to its index in a header row, or lists the missing ones.
 * The first matching header wins when a file repeats a column.
 */
export function matchHeader(
  header: readonly string[],
): { ok: true; indexes: Record<RequiredColumn, number> } | { ok: false; missing: string[] } {
  const positions = new Map<string, number>();
  header.forEach((name, index) => {
    const key = normalizeHeader(name);
    if (!positions.has(key)) positions.set(key, index);
  });
  const indexes: Partial<Record<RequiredColumn, number>> = {};
  const missing: string[] = [];
  for (const [column, label] of Object.entries(REQUIRED_COLUMNS) as [RequiredColumn, string][]) {
    const index = positions.get(normalizeHeader(label));
    if (index === undefined) missing.push(label);
    else indexes[column] = index;
  }
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, indexes: indexes as Record<RequiredColumn, number> };
}
