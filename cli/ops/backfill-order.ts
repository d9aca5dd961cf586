import { parseDate } from '../../handlers/coverage-check/wall-clock';
import type { BronzeObject } from './target';

/** A date in a name: 2024-11-05, 2024_11_05, 2024/11/05 (folders) or 20241105, not inside a longer number. */
const DATE_IN_NAME = /(?<!\d)((?:19|20)\d{2})([-_/.]?)(\d{2})\2(\d{2})(?!\d)/g;

/** The first valid calendar date in an object's name (key or path below SOURCE), `YYYY-MM-DD`. */
export function dateInName(name: string): string | undefined {
  for (const match of name.matchAll(DATE_IN_NAME)) {
    const day = `${match[1]}-${match[3]}-${match[4]}`;
    try {
      parseDate(day);
      return day;
    } catch {
      // 2024-13-45 is no date; look further along the name.
    }
  }
  return undefined;
}

export interface BackfillPlan {
  /** In `Done On` order as the names tell it: by date, then name; objects without a date last, by name. */
  readonly ordered: readonly BronzeObject[];
  /** Dated objects outside `--since`/`--until`. */
  readonly outsideRange: number;
  /** Objects without a date in their name, left out because a range was asked for. */
  readonly undatedLeftOut: number;
}

/**
 * Orders a backfill by the date in each object's name. Exports are named by the day they hold, and
 * the name costs nothing to read: ordering by contents would mean a GET per object before the first
 * run. Gold does not depend on the order (any order gives the same tables); the order makes a
 * partial backfill a contiguous stretch of history and keeps the alerts along the way meaningful.
 */
export function planBackfill(objects: readonly BronzeObject[], since?: string, until?: string): BackfillPlan {
  for (const bound of [since, until]) if (bound !== undefined) parseDate(bound);
  const ranged = since !== undefined || until !== undefined;
  const dated: { object: BronzeObject; day: string }[] = [];
  const undated: BronzeObject[] = [];
  let outsideRange = 0;
  for (const object of objects) {
    const day = dateInName(object.name);
    if (day === undefined) undated.push(object);
    else if ((since !== undefined && day < since) || (until !== undefined && day > until)) outsideRange += 1;
    else dated.push({ object, day });
  }
  const byName = (a: BronzeObject, b: BronzeObject) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  dated.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : byName(a.object, b.object)));
  return {
    ordered: [...dated.map((entry) => entry.object), ...(ranged ? [] : [...undated].sort(byName))],
    outsideRange,
    undatedLeftOut: ranged ? undated.length : 0,
  };
}
