import contract from './input-contract.json';

/** Silver name -> the header the contract names; matched ignoring case, spaces and underscores. */
export const REQUIRED_COLUMNS: Readonly<Record<'done_on' | 'extension' | 'action' | 'details', string>> =
  contract.requiredColumns;

/** Every accepted `Done On` form, tried in order (strptime codes). */
export const TIMESTAMP_FORMATS: readonly string[] = contract.timestampFormats;

/**
 * The accepted `Done On` dates: from `earliest` to the run's UTC day plus `latestDaysAfterRunDay`,
 * both included. The silver partition projection covers the same range.
 */
export const ACCEPTED_DONE_ON: { readonly earliest: string; readonly latestDaysAfterRunDay: number } =
  contract.acceptedDoneOn;

/** How far a record may reach, and how much of a rejected record's text is kept (UTF-8 bytes). */
export const RECORD_LIMITS: { readonly maxRecordBytes: number; readonly maxRawTextBytes: number } =
  contract.records;

/** The characters trimmed from both ends of every field: Unicode's White_Space set. */
export const WHITESPACE: string = contract.whitespace;

export type RequiredColumn = keyof typeof REQUIRED_COLUMNS;

/** The last accepted `Done On` day, YYYY-MM-DD, for a run on `runDay` (UTC). */
export function latestAcceptedDay(runDay: Date): string {
  const day = new Date(
    Date.UTC(runDay.getUTCFullYear(), runDay.getUTCMonth(), runDay.getUTCDate()) +
      ACCEPTED_DONE_ON.latestDaysAfterRunDay * 86_400_000,
  );
  return day.toISOString().slice(0, 10);
}

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
