import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lakePaths } from '../local/lake';
import { runCli } from './support/cli';
import { dataExports, removeDir, tempDir, withLakeAt, writeCsv } from './support/lake';

/** Three days of two agents, a file a day, as a center sends them: each run merges into the last. */
const DAYS = ['2024-11-04', '2024-11-05', '2024-11-06'];
const dayRows = (day: string) => [
  `${day} 08:00:00,401,ONLINE,`,
  `${day} 12:10:00,401,OFFLINE,Lunch`,
  `${day} 12:50:00,401,ONLINE,`,
  `${day} 17:00:00,401,LOGOUT,`,
  `${day} 09:00:00,402,ONLINE,`,
  `${day} 23:40:00,402,OFFLINE,BACKOFFICE`,
];

let dir: string;
let lake: string;
beforeEach(async () => {
  dir = tempDir('agent-etl-compact-');
  lake = join(dir, 'lake');
  for (const day of DAYS) {
    const result = await runCli([
      'run',
      writeCsv(dir, `${day}.csv`, dayRows(day)),
      '--lake',
      lake,
      '--no-check',
    ]);
    expect(result.code).toBe(0);
  }
});
afterEach(() => removeDir(dir));

test('compact rewrites the database file and every export stays the same', async () => {
  const before = await withLakeAt(lake, dataExports);
  const result = await runCli(['compact', '--lake', lake]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/warehouse\.duckdb: \d+\.\d MiB -> \d+\.\d MiB\n$/);
  expect(await withLakeAt(lake, dataExports)).toEqual(before);
  // Nothing beside the file: no copy, no write-ahead log.
  expect(readdirSync(lake).filter((name) => name.startsWith('warehouse'))).toEqual(['warehouse.duckdb']);
});

test('a run after compaction merges into the compacted lake as into the old one', async () => {
  const next = writeCsv(dir, '2024-11-07.csv', dayRows('2024-11-07'));
  const twin = join(dir, 'twin');
  for (const day of DAYS) await runCli(['run', join(dir, `${day}.csv`), '--lake', twin, '--no-check']);
  expect((await runCli(['compact', '--lake', lake])).code).toBe(0);
  expect((await runCli(['run', next, '--lake', lake, '--no-check'])).code).toBe(0);
  expect((await runCli(['run', next, '--lake', twin, '--no-check'])).code).toBe(0);
  const compacted = await withLakeAt(lake, dataExports);
  expect(compacted.intervals).toContain('2024-11-07');
  expect(compacted).toEqual(await withLakeAt(twin, dataExports));
});

test('the copy a killed compaction left is removed by the next one, and never read', async () => {
  const before = await withLakeAt(lake, dataExports);
  const leftover = `${lakePaths(lake).warehouse}.compacting`;
  writeFileSync(leftover, 'half a database file');
  expect(await withLakeAt(lake, dataExports)).toEqual(before);
  expect((await runCli(['compact', '--lake', lake])).code).toBe(0);
  expect(existsSync(leftover)).toBe(false);
  expect(statSync(lakePaths(lake).warehouse).size).toBeGreaterThan(0);
  expect(await withLakeAt(lake, dataExports)).toEqual(before);
});

test('no lake: one error line, nothing made', async () => {
  const missing = join(dir, 'missing');
  const result = await runCli(['compact', '--lake', missing]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/no lake at/);
  expect(existsSync(missing)).toBe(false);
});
