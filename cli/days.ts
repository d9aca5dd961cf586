import { InvalidArgumentError } from 'commander';
import { ACCEPTED_DONE_ON, latestAcceptedDay } from '../workflow/input-contract';

/**
 * A day a command is asked about (`check --day`, `report --from/--to`, `status --until`): a real
 * calendar day, YYYY-MM-DD, within the days the input contract lets data have, from its earliest
 * `Done On` day to the day after today (UTC). Outside them no row can exist, so a day there is a
 * mistake (a year typed as `0024`, `9999-12-31` for "the end"), refused before anything is read.
 */
export function dataDay(value: string, now: Date = new Date()): string {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value)
    throw new InvalidArgumentError(`expected a calendar day YYYY-MM-DD, got '${value}'`);
  const earliest = ACCEPTED_DONE_ON.earliest;
  const latest = latestAcceptedDay(now);
  if (value < earliest || value > latest)
    throw new InvalidArgumentError(
      `${value} is outside the days data can have, ${earliest} to ${latest} (workflow/input-contract.json)`,
    );
  return value;
}

/**
 * An instant a command is asked about (`check --end`): 'YYYY-MM-DD HH:MM:SS' on the contact center's
 * clocks, a real time of a day that `dataDay` accepts.
 */
export function dataInstant(value: string, now: Date = new Date()): string {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected a timestamp 'YYYY-MM-DD HH:MM:SS', got '${value}'`);
  const [hours, minutes, seconds] = [match[2], match[3], match[4]].map(Number);
  if ((hours ?? 24) > 23 || (minutes ?? 60) > 59 || (seconds ?? 60) > 59)
    throw new InvalidArgumentError(`'${value}' is not a time of day (00:00:00 to 23:59:59)`);
  dataDay(match[1] ?? '', now);
  return value;
}
