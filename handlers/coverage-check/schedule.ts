import * as z from 'zod';
import { dayOfWeek, MINUTE_MS, startOfDay, type WallClock } from './wall-clock';

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-4]):(00|30)$/, 'a time on the half hour, HH:MM from 00:00 to 24:00')
  .transform((text) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5)))
  .refine((minutes) => minutes <= 24 * 60, 'no later than 24:00');

const openingHours = z
  .object({
    days: z.array(z.enum(DAY_NAMES)).min(1),
    open: clockTime,
    close: clockTime,
  })
  .strict()
  .refine((hours) => hours.open < hours.close, 'open must come before close (split overnight hours in two)');

/**
 * The operating schedule: a list of opening hours, for example
 * `[{"days":["mon","tue","wed","thu","fri"],"open":"07:00","close":"19:00"}]`.
 * An interval is expected when its start falls in `[open, close)` of a rule listing its weekday.
 */
export const OperatingScheduleSchema = z.array(openingHours).min(1);

export type OperatingSchedule = z.output<typeof OperatingScheduleSchema>;

/** Parses the JSON text of `OPERATING_SCHEDULE`; undefined or blank means open around the clock. */
export function parseOperatingSchedule(json: string | undefined): OperatingSchedule | undefined {
  if (json === undefined || json.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`operating schedule is not JSON: ${(error as Error).message}`);
  }
  const parsed = OperatingScheduleSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`operating schedule: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Whether the interval starting at this wall-clock reading is within operating hours. */
export function isOpen(schedule: OperatingSchedule | undefined, intervalStart: WallClock): boolean {
  if (!schedule) return true;
  const day = DAY_NAMES[dayOfWeek(intervalStart)];
  const minuteOfDay = (intervalStart - startOfDay(intervalStart)) / MINUTE_MS;
  return schedule.some(
    (hours) =>
      day !== undefined && hours.days.includes(day) && minuteOfDay >= hours.open && minuteOfDay < hours.close,
  );
}
