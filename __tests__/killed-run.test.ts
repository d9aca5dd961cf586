import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { removeDir, tempDir, writeCsv } from './support/lake';

/**
 * A run killed after MergeIntervals committed (AGENT_ETL_FAULT=MergeIntervals:kill: SIGKILL, nothing more
 * recorded, not even a failure) leaves its intervals in gold and its windows in affected_windows. The next
 * run of the same object, with different content, must recompute those windows without the dead run's rows:
 * no phantom hours, weekly equal to the sum of the intervals, and every export equal to a lake that never
 * saw the killed run. Runs through the command (bin/agent-etl.js, built by `npm run build`).
 */
const BIN = join(__dirname, '..', 'bin', 'agent-etl.js');
const dir = tempDir('agent-etl-killed-');
afterAll(() => removeDir(dir));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AGENT_ETL_FAULT: '', ...env },
  });
}

function run(lake: string, key: string, file: string, env: NodeJS.ProcessEnv = {}) {
  return cli(['run', file, '--lake', lake, '--key', key, '--no-check', '--wait', '30'], env);
}

function exported(lake: string, table: string): string {
  const result = cli(['export', table, '--lake', lake, '--format', 'csv', '--wait', '30']);
  expect(result.status).toBe(0);
  return result.stdout;
}

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

test('a run killed after MergeIntervals leaves nothing once the object runs again', () => {
  const lake = join(dir, 'lake');
  expect(run(lake, 'in/base.csv', base).status).toBe(0);
  const dead = run(lake, 'in/day.csv', killed, { AGENT_ETL_FAULT: 'MergeIntervals:kill' });
  expect(dead.signal).toBe('SIGKILL');
  // The kill happened after the intervals were merged: the dead run's hours are in gold for now.
  expect(exported(lake, 'intervals')).toMatch(/^777,/m);

  expect(run(lake, 'in/day.csv', replacement).status).toBe(0);

  const clean = join(dir, 'clean');
  expect(run(clean, 'in/base.csv', base).status).toBe(0);
  expect(run(clean, 'in/day.csv', replacement).status).toBe(0);

  const intervals = exported(lake, 'intervals');
  expect(intervals).not.toMatch(/^777,/m);
  expect(intervals).toBe(exported(clean, 'intervals'));
  expect(exported(lake, 'weekly')).toBe(exported(clean, 'weekly'));
  expect(exported(lake, 'report')).toBe(exported(clean, 'report'));

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
  const fromWeekly = totals(exported(lake, 'weekly'), 'productive_hours', 1);
  expect([...fromWeekly.keys()].sort()).toEqual(['200', '888']);
  expect([...fromIntervals.keys()].sort()).toEqual(['200', '888']);
  for (const [extension, hours] of fromWeekly) expect(fromIntervals.get(extension)).toBeCloseTo(hours, 9);
}, 180_000);
