import { join } from 'node:path';
import { runFile } from '../local/runner';
import { runCli } from './support/cli';
import { exportText, removeDir, tempDir, withLakeAt, writeCsv } from './support/lake';

/**
 * A run killed after its gold writes committed (AGENT_ETL_FAULT=AppendIntervals:kill: SIGKILL once
 * MergeIntervals and AppendIntervals are done, nothing more recorded, not even a failure) leaves its
 * intervals in gold (200's merged into Monday, 777's appended) and its windows in affected_windows. The next
 * run of the same object, with different content, must recompute those windows without the dead run's rows:
 * no phantom hours, weekly equal to the sum of the intervals, and every export equal to a lake that never
 * saw the killed run. The kill goes through the command (bin/agent-etl.js, built by `npm run build`); the
 * next run is made in-process with `runFile` alone, without the command's closing of interrupted runs
 * (cli-safety.test.ts covers that), so this shows the affected-windows step is enough by itself.
 */
const dir = tempDir('agent-etl-killed-');
afterAll(() => removeDir(dir));

// Monday 2024-11-04 and Tuesday: extension 200 works both days (object in/base.csv).
const base = writeCsv(dir, 'base.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
  '11/5/2024 9:00:00 AM,200,LOGIN,',
  '11/5/2024 9:10:00 AM,200,ONLINE,',
  '11/5/2024 5:00:00 PM,200,LOGOUT,',
]);
// The version of in/day.csv that is killed: extension 777 online for hours, 200 late on Monday.
const killed = writeCsv(dir, 'killed.csv', [
  '11/4/2024 10:00:00 AM,777,LOGIN,',
  '11/4/2024 10:05:00 AM,777,ONLINE,',
  '11/4/2024 3:45:00 PM,777,LOGOUT,',
  '11/4/2024 8:00:00 PM,200,REMVCEON,',
  '11/4/2024 10:00:00 PM,200,LOGOUT,',
]);
// The version run after it: another extension, and nothing of 777 or 200.
const replacement = writeCsv(dir, 'replacement.csv', [
  '11/4/2024 1:00:00 PM,888,LOGIN,',
  '11/4/2024 1:20:00 PM,888,ONLINE,',
  '11/4/2024 2:50:00 PM,888,LOGOUT,',
]);

test('a run killed after its gold writes leaves nothing once the object runs again', async () => {
  const root = join(dir, 'lake');
  await withLakeAt(root, async (lake) => {
    expect((await runFile(lake, base, { key: 'in/base.csv' })).status).toBe('SUCCEEDED');
  });
  const dead = await runCli(['run', killed, '--lake', root, '--key', 'in/day.csv', '--no-check'], {
    AGENT_ETL_FAULT: 'AppendIntervals:kill',
  });
  expect(dead.signal).toBe('SIGKILL');

  const clean = join(dir, 'clean');
  await withLakeAt(clean, async (lake) => {
    expect((await runFile(lake, base, { key: 'in/base.csv' })).status).toBe('SUCCEEDED');
    expect((await runFile(lake, replacement, { key: 'in/day.csv' })).status).toBe('SUCCEEDED');
  });
  const [cleanIntervals, cleanWeekly, cleanReport] = await withLakeAt(clean, async (lake) => [
    await exportText(lake, 'intervals'),
    await exportText(lake, 'weekly'),
    await exportText(lake, 'report'),
  ]);

  await withLakeAt(root, async (lake) => {
    // The kill happened after the intervals were written: the dead run's hours are in gold for now.
    expect(await exportText(lake, 'intervals')).toMatch(/^777,/m);
    expect((await runFile(lake, replacement, { key: 'in/day.csv' })).status).toBe('SUCCEEDED');

    const intervals = await exportText(lake, 'intervals');
    const weekly = await exportText(lake, 'weekly');
    expect(intervals).not.toMatch(/^777,/m);
    expect(intervals).toBe(cleanIntervals);
    expect(weekly).toBe(cleanWeekly);
    expect(await exportText(lake, 'report')).toBe(cleanReport);

    // Weekly agrees with the intervals it sums, extension by extension.
    const totals = (text: string, column: string, scale: number) => {
      const [header = '', ...rows] = text.trim().split('\n');
      const index = header.split(',').indexOf(column);
      expect(index).toBeGreaterThan(0);
      const sums = new Map<string, number>();
      for (const row of rows) {
        const cells = row.split(',');
        sums.set(cells[0] ?? '', (sums.get(cells[0] ?? '') ?? 0) + Number(cells[index]) / scale);
      }
      return sums;
    };
    const fromIntervals = totals(intervals, 'productive_seconds', 3600);
    const fromWeekly = totals(weekly, 'productive_hours', 1);
    expect([...fromWeekly.keys()].sort()).toEqual(['200', '888']);
    expect([...fromIntervals.keys()].sort()).toEqual(['200', '888']);
    for (const [extension, hours] of fromWeekly) expect(fromIntervals.get(extension)).toBeCloseTo(hours, 9);
  });
}, 120_000);
