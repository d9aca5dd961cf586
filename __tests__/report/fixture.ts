import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lake } from '../../local/lake';
import { runFile } from '../../local/runner';
import { writeCsv } from '../support/lake';

/** `YYYY-MM-DD HH:MM:SS` of the 30-minute slot (0..47) of a day, ten seconds in. */
const at = (day: string, slot: number) =>
  `${day} ${String(Math.floor(slot / 2)).padStart(2, '0')}:${slot % 2 === 0 ? '00' : '30'}:10`;

/** The gap day and what it misses: worked out from the events below, not from the program. */
export const GAP_DAY = '2024-11-05';
export const GAP_RANGES = [
  '2024-11-05 09:30:00 to 2024-11-05 11:30:00',
  '2024-11-05 17:30:00 to 2024-11-05 18:00:00',
];
export const COMPLETE_DAYS = ['2024-11-04', '2024-11-06'];
/** Rows the loader must reject, as they stand in the file. */
export const BAD_ROWS = ['<img src=x onerror=alert(1)>,803,ONLINE,', '2024-11-06 10:00:00,,ONLINE,'];
export const REFUSED_FILE = 'refused.csv';
export const REJECTS_FILE = 'with-rejects.csv';
export const KILLED_OBJECT = 'bronze/killed.csv';

/**
 * Extension 801 has an event in every interval of three days, except on the gap day: it goes on a
 * break (not productive) at 09:00 until 11:30, and again at 17:00 until 18:00. The interval of the
 * break's own event has a row; the ones after it, up to the next event, have none.
 */
export async function buildFixtureLake(dir: string): Promise<string> {
  const events: string[] = [];
  for (const day of [...COMPLETE_DAYS, GAP_DAY].sort()) {
    for (let slot = 0; slot < 48; slot += 1) {
      if (day === GAP_DAY && ((slot > 18 && slot < 23) || slot === 35)) continue;
      const onBreak = day === GAP_DAY && (slot === 18 || slot === 34);
      events.push(`${at(day, slot)},801,${onBreak ? 'OFFLINE,Break' : 'ONLINE,'}`);
    }
  }
  const lakeDir = join(dir, 'lake');
  const lake = await Lake.open(lakeDir);
  try {
    // Each object keyed by its file name, so the page's object names are known here.
    for (const [name, path] of [
      ['week.csv', writeCsv(dir, 'week.csv', events)],
      [REJECTS_FILE, writeCsv(dir, REJECTS_FILE, [`${at('2024-11-06', 20)},802,ONLINE,`, ...BAD_ROWS])],
      [
        REFUSED_FILE,
        writeCsv(dir, REFUSED_FILE, ['2024-11-06 10:00:00,804,ONLINE'], 'Done On,Extension,Action'),
      ],
    ] as const) {
      await runFile(lake, path, { key: name });
    }
    // A run that started and never finished (killed), as pipeline_runs records it.
    await lake.query(
      `insert into pipeline_runs (run_id, source_object, status, started_at)
       values ('killed-run', ?, 'RUNNING', timestamp '2024-11-07 08:00:00')`,
      [KILLED_OBJECT],
    );
  } finally {
    lake.close();
  }
  return lakeDir;
}

export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
