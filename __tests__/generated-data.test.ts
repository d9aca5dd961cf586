import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEvents } from '../cli/generate';
import { MANAGED_TABLES, SILVER_TABLES } from '../workflow/tables';
import { dataExports, ingest, intervalRows, removeDir, tempDir, withLake } from './support/lake';
import { expectedIntervals, type OracleEvent, parseUsTimestamp } from './support/oracle';

/**
 * Generated shifts, dealt round-robin into three files (so every extension's spans cross file
 * boundaries), with some rows repeated in a second file.
 */
function splitIntoFiles(dir: string): { files: string[]; events: OracleEvent[] } {
  const source = join(dir, 'all.csv');
  generateEvents(source, { extensions: 12, days: 4, start: '2024-11-09', seed: 11 });
  const [header, ...lines] = readFileSync(source, 'utf8').trimEnd().split('\n');
  const parts: string[][] = [[], [], []];
  lines.forEach((line, i) => {
    parts[i % 3]?.push(line);
    if (i % 17 === 0) parts[(i + 1) % 3]?.push(line); // an exact duplicate in another file
  });
  const files = parts.map((part, i) => {
    const file = join(dir, `part-${i}.csv`);
    writeFileSync(file, `${header}\n${part.join('\n')}\n`);
    return file;
  });
  const events = lines.map((line) => {
    const [at = '', extension = '', action = '', details = ''] = line.split(',');
    return { at: parseUsTimestamp(at), extension, action, details };
  });
  return { files, events };
}

describe('generated data', () => {
  test('the intervals match an independent walk of the rule, across files and duplicates', async () => {
    await withLake(async (lake, dir) => {
      const { files, events } = splitIntoFiles(dir);
      const runs = await ingest(lake, ...files);
      expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      const expected = expectedIntervals(events);
      const actual = await intervalRows(lake);
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      for (const [key, [hours, count]] of Object.entries(expected)) {
        expect(actual[key]?.[0]).toBeCloseTo(hours, 12);
        expect(actual[key]?.[1]).toBe(count);
      }
    });
  });

  test('every table keeps its natural key unique, across files, duplicates and re-ingests', async () => {
    await withLake(async (lake, dir) => {
      const { files } = splitIntoFiles(dir);
      await ingest(lake, ...files, files[0] ?? '', files[1] ?? '');
      for (const table of [...SILVER_TABLES, ...MANAGED_TABLES]) {
        const key = table.naturalKey.join(', ');
        const [row] = await lake.query(
          `select count(*) as rows, (select count(*) from (select distinct ${key} from ${table.name})) as keys from ${table.name}`,
        );
        expect([table.name, row?.rows]).toEqual([table.name, row?.keys]);
      }
      const [intervals] = await lake.query('select count(*) as n from agent_intervals');
      expect(Number(intervals?.n)).toBeGreaterThan(100);
    });
  });

  test('any file order, and files ingested again, give byte-for-byte the same exports', async () => {
    await withLake(async (reference, dir) => {
      const { files } = splitIntoFiles(dir);
      const [a = '', b = '', c = ''] = files;
      await ingest(reference, a, b, c);
      const expected = await dataExports(reference);
      expect(expected.intervals?.split('\n').length).toBeGreaterThan(100);
      for (const order of [
        [c, b, a],
        [b, a, c, b, a],
      ]) {
        await withLake(async (lake) => {
          await ingest(lake, ...order);
          expect(await dataExports(lake)).toEqual(expected);
        });
      }
    });
  });

  test('the generator is deterministic for a seed and stops at the requested size', () => {
    const dir = tempDir();
    try {
      const options = { extensions: 5, days: 3, start: '2024-11-04', seed: 3 };
      generateEvents(join(dir, 'a.csv'), options);
      generateEvents(join(dir, 'b.csv'), options);
      generateEvents(join(dir, 'c.csv'), { ...options, seed: 4 });
      const result = generateEvents(join(dir, 'd.csv'), { ...options, maxEvents: 40 });
      const text = (name: string) => readFileSync(join(dir, name), 'utf8');
      expect(text('a.csv')).toBe(text('b.csv'));
      expect(text('a.csv')).not.toBe(text('c.csv'));
      expect(result.events).toBe(40);
      expect(text('d.csv').trimEnd().split('\n')).toHaveLength(41);
      const actions = new Set(
        text('a.csv')
          .split('\n')
          .map((line) => line.split(',')[2]),
      );
      for (const action of ['LOGIN', 'ONLINE', 'OFFLINE', 'REMVCEON', 'LOGOUT'])
        expect(actions).toContain(action);
    } finally {
      removeDir(dir);
    }
  });
});
