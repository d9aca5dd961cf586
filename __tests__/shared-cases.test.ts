import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASES_DIR, dataExports, expectHours, ingest, productiveHours, withLake } from './support/lake';

const file = (name: string) => join(CASES_DIR, name);
const expected = (name: string) => JSON.parse(readFileSync(file(name), 'utf8')) as Record<string, number>;

describe('worked cases from shared/cases', () => {
  test('01: states, splitting at boundaries, an exact duplicate row', async () => {
    await withLake(async (lake) => {
      const [run] = await ingest(lake, file('01-states.csv'));
      expect(run?.status).toBe('SUCCEEDED');
      expectHours(await productiveHours(lake), expected('01-expected.json'));
    });
  });

  test('02: a span across two files, part1 then part2', async () => {
    await withLake(async (lake) => {
      await ingest(lake, file('02-part1.csv'));
      expectHours(await productiveHours(lake), expected('02-expected-after-part1.json'));
      await ingest(lake, file('02-part2.csv'));
      expectHours(await productiveHours(lake), expected('02-expected.json'));
    });
  });

  test('02: the other order gives the same result', async () => {
    await withLake(async (lake) => {
      await ingest(lake, file('02-part2.csv'), file('02-part1.csv'));
      expectHours(await productiveHours(lake), expected('02-expected.json'));
    });
  });

  test('02: part1 ingested twice changes nothing', async () => {
    await withLake(async (once) => {
      await ingest(once, file('02-part1.csv'), file('02-part2.csv'));
      await withLake(async (twice) => {
        await ingest(twice, file('02-part1.csv'), file('02-part2.csv'), file('02-part1.csv'));
        expectHours(await productiveHours(twice), expected('02-expected.json'));
        expect(await dataExports(twice)).toEqual(await dataExports(once));
      });
    });
  });
});
