import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEvents } from '../../cli/generate';
import { runCli, startCli as start } from '../support/cli';
import { removeDir, tempDir, writeCsv } from '../support/lake';

const cli = (...args: string[]) => runCli(args);

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The exports an operator compares: every gold table, as bytes. */
async function gold(lake: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['intervals', 'weekly', 'report']) {
    const result = await cli('export', table, '--lake', lake);
    expect(result.code).toBe(0);
    out.push(result.stdout);
  }
  return out;
}

// Each test runs the CLI several times; on a loaded 2-core machine that takes minutes, not seconds.
jest.setTimeout(240_000);

let dir: string;
beforeEach(() => {
  dir = tempDir('agent-etl-ops-');
});
afterEach(() => removeDir(dir));

// One extension online the whole of 2024-11-05: all 48 intervals of the day have a row.
const FULL_DAY = ['2024-11-05 00:00:00,801,ONLINE,', '2024-11-05 23:59:00,801,LOGOUT,'];
const SECOND_AGENT = [
  '2024-11-05 09:00:00,802,ONLINE,',
  '2024-11-05 11:15:00,802,OFFLINE,Backoffice',
  '2024-11-05 12:00:00,802,LOGOUT,',
];

describe('agent-etl status and rerun on the local lake', () => {
  test("a run refused for a missing column, fixed in bronze, then rerun --failed: the clean run's exports", async () => {
    const clean = join(dir, 'clean');
    mkdirSync(clean);
    writeCsv(clean, 'a.csv', FULL_DAY);
    writeCsv(clean, 'b.csv', SECOND_AGENT);
    const reference = join(dir, 'reference');
    expect((await cli('run', clean, '--lake', reference)).code).toBe(0);

    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    writeCsv(inbox, 'a.csv', FULL_DAY);
    writeCsv(
      inbox,
      'b.csv',
      SECOND_AGENT.map((row) =>
        row
          .split(',')
          .filter((_, index) => index !== 2)
          .join(','),
      ),
      'Done On,Extension,Details',
    );
    const lake = join(dir, 'lake');
    const first = await cli('run', inbox, '--lake', lake);
    expect(first.stderr).toBe(
      `error: ${join(inbox, 'b.csv')}: missing required column Action (header: Done On, Extension, Details)\n`,
    );
    expect(first.code).toBe(1);

    const before = await cli('status', '--lake', lake, '--days', '1', '--until', '2024-11-05', '--json');
    expect(before.code).toBe(3);
    const report = JSON.parse(before.stdout);
    expect(report.ok).toBe(false);
    expect(report.to_rerun).toHaveLength(1);
    const failed = report.to_rerun[0];
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/Action/);
    expect(report.runs.map((run: { state: string }) => run.state).sort()).toEqual(['failed', 'succeeded']);
    expect(report.days).toEqual([
      expect.objectContaining({ day: '2024-11-05', expected: 48, present: 48, complete: true, missing: [] }),
    ]);
    const text = await cli('status', '--lake', lake, '--days', '1', '--until', '2024-11-05');
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`${failed.source_object}  failed in run ${failed.run_id}`);
    expect(text.stdout).toMatch(/attention: 0 days with gaps, 1 object to rerun/);

    // The cause is removed where the run reads it: the object's copy in bronze.
    writeCsv(join(lake, 'bronze'), failed.source_object.slice('bronze/'.length), SECOND_AGENT);
    const rerun = await cli('rerun', '--failed', '--lake', lake);
    expect(rerun.stderr).toBe(
      `[1/1] ${join(lake, 'bronze', failed.source_object.slice('bronze/'.length))}: SUCCEEDED\n`,
    );
    expect(rerun.stdout).toMatch(/^agent-etl rerun: 1 run: 1 succeeded, 0 failed, in [\d.]+ s\n$/);
    expect(rerun.code).toBe(0);
    expect(await gold(lake)).toEqual(await gold(reference));

    const after = await cli('status', '--lake', lake, '--days', '1', '--until', '2024-11-05');
    expect(after.stdout).toMatch(/2024-11-05 {2}complete {2}48\/48\nall well\n$/);
    expect(after.code).toBe(0);
    const again = await cli('rerun', '--failed', '--lake', lake);
    expect([again.code, again.stdout]).toEqual([
      0,
      'agent-etl rerun: no object whose latest run failed or did not finish\n',
    ]);
  });

  test('status: a day with gaps lists its missing ranges and exits 3; a day with no data says so', async () => {
    writeCsv(dir, 'part.csv', [
      '2024-11-05 00:00:00,801,ONLINE,',
      '2024-11-05 10:00:00,801,LOGOUT,',
      '2024-11-05 12:00:00,801,ONLINE,',
      '2024-11-05 23:59:00,801,LOGOUT,',
    ]);
    const lake = join(dir, 'lake');
    expect((await cli('run', join(dir, 'part.csv'), '--lake', lake)).code).toBe(0);
    const status = await cli('status', '--lake', lake, '--days', '2', '--until', '2024-11-06');
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(
      [
        'coverage (UTC):',
        '  2024-11-05  gaps      45/48',
        '    missing 2024-11-05 10:30:00 to 2024-11-05 12:00:00',
        '  2024-11-06  no data   0/48',
        '    missing 2024-11-06 00:00:00 to 2024-11-07 00:00:00',
        'attention: 2 days with gaps, 0 objects to rerun',
      ].join('\n'),
    );
  });

  test('errors exit 1 with one line: an unknown object, no objects, --aws without --env', async () => {
    const lake = join(dir, 'lake');
    writeCsv(dir, 'a.csv', FULL_DAY);
    expect((await cli('run', join(dir, 'a.csv'), '--lake', lake)).code).toBe(0);
    const unknown = await cli('rerun', 'bronze/nope.csv', 'bronze/a.csv', '--lake', lake);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `error: bronze/nope.csv: no such object (${join(lake, 'bronze', 'nope.csv')} is missing)\n`,
    );
    const outside = await cli('rerun', 'bronze/../warehouse.duckdb', '--lake', lake);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^error: bronze\/..\/warehouse.duckdb: not an object of this lake/);
    expect((await cli('rerun', '--lake', lake)).stderr).toBe(
      'error: give objects to rerun, or --failed, not both\n',
    );
    const nowhere = await cli('status', '--lake', join(dir, 'typo'));
    expect([nowhere.code, nowhere.stderr]).toEqual([
      1,
      `error: no lake at ${join(dir, 'typo')}: run \`agent-etl run FILE --lake ${join(dir, 'typo')}\` first\n`,
    ]);
    const aws = await cli('status', '--aws');
    expect([aws.code, aws.stderr]).toEqual([1, 'error: --aws needs --env dev|prod\n']);
    const missing = await cli('backfill', join(dir, 'nowhere'), '--lake', lake);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `error: ${join(dir, 'nowhere')}: no such file or directory\n`,
    ]);
    const runs = JSON.parse((await cli('export', 'runs', '--lake', lake, '--format', 'json')).stdout);
    expect(runs).toHaveLength(1);
  });
});

describe('agent-etl backfill on the local lake', () => {
  /** Five exports, named so that name order is not date order, one of them without a date. */
  function exportsFolder(): string {
    const source = join(dir, 'exports');
    mkdirSync(join(source, 'sub', '2024', '11', '07'), { recursive: true });
    const days: [string, string][] = [
      ['b-2024-11-05.csv', '2024-11-05'],
      ['a-2024-11-06.csv', '2024-11-06'],
      ['c-20241104.csv', '2024-11-04'],
      ['sub/2024/11/07/x.csv', '2024-11-07'],
      ['undated.csv', '2024-11-08'],
    ];
    days.forEach(([name, start], index) => {
      generateEvents(join(source, name), { extensions: 40, days: 1, start, seed: index + 1 });
    });
    return source;
  }

  test('objects run in date order of their names; a second pass skips them all', async () => {
    const source = exportsFolder();
    const lake = join(dir, 'lake');
    const first = await cli('backfill', source, '--lake', lake);
    expect(first.code).toBe(0);
    expect(first.stderr.trimEnd().split('\n')).toEqual(
      ['c-20241104.csv', 'b-2024-11-05.csv', 'a-2024-11-06.csv', 'sub/2024/11/07/x.csv', 'undated.csv'].map(
        (name, index) => `[${index + 1}/5] ${join(source, name)}: SUCCEEDED`,
      ),
    );
    expect(first.stdout).toMatch(
      new RegExp(
        `^agent-etl backfill: 5 objects under ${source}, 0 already loaded \\(same content\\), 5 runs: 5 succeeded, 0 failed, in [\\d.]+ s\\n$`,
      ),
    );
    const second = await cli('backfill', source, '--lake', lake);
    expect([second.code, second.stderr]).toEqual([0, '']);
    expect(second.stdout).toBe(
      `agent-etl backfill: 5 objects under ${source}, 5 already loaded (same content); nothing to do\n`,
    );

    // A changed object is a new version: it runs again, the others stay skipped.
    generateEvents(join(source, 'a-2024-11-06.csv'), {
      extensions: 40,
      days: 1,
      start: '2024-11-06',
      seed: 99,
    });
    const third = await cli('backfill', source, '--lake', lake);
    expect(third.stderr).toBe(`[1/1] ${join(source, 'a-2024-11-06.csv')}: SUCCEEDED\n`);
    expect(third.stdout).toMatch(/5 objects under .*, 4 already loaded \(same content\), 1 run: 1 succeeded/);
  });

  test('--since and --until keep the days named in range and leave out undated objects', async () => {
    const source = exportsFolder();
    const result = await cli(
      'backfill',
      source,
      '--since',
      '2024-11-05',
      '--until',
      '2024-11-06',
      '--lake',
      join(dir, 'lake'),
    );
    expect(result.code).toBe(0);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `[1/2] ${join(source, 'b-2024-11-05.csv')}: SUCCEEDED`,
      `[2/2] ${join(source, 'a-2024-11-06.csv')}: SUCCEEDED`,
    ]);
    expect(result.stdout).toContain(
      '  left out: 2 dated outside --since/--until, 1 without a date in the name\n',
    );
    const backwards = await cli(
      'backfill',
      source,
      '--since',
      '2024-11-06',
      '--until',
      '2024-11-05',
      '--lake',
      join(dir, 'lake'),
    );
    expect([backwards.code, backwards.stderr]).toEqual([
      1,
      'error: --since 2024-11-06 is after --until 2024-11-05\n',
    ]);
  });

  test('a backfill killed midway and resumed gives the same exports as one pass', async () => {
    const source = exportsFolder();
    const reference = join(dir, 'reference');
    expect((await cli('backfill', source, '--lake', reference)).code).toBe(0);

    const lake = join(dir, 'lake');
    const victim = start(['backfill', source, '--lake', lake]);
    await until(() => victim.output().stderr.includes('[2/5]'), 60_000);
    victim.child.kill('SIGKILL');
    expect((await victim.done).signal).toBe('SIGKILL');

    const resumed = await cli('backfill', source, '--lake', lake);
    expect(resumed.code).toBe(0);
    const loaded =
      /5 objects under .*, (\d) already loaded \(same content\), (\d) runs?: \2 succeeded, 0 failed/.exec(
        resumed.stdout,
      );
    expect(loaded).not.toBeNull();
    expect(Number(loaded?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(loaded?.[1]) + Number(loaded?.[2])).toBe(5);
    expect(await gold(lake)).toEqual(await gold(reference));
  });

  test('a refused file fails its run: exit 3, one line naming it, the others still load', async () => {
    const source = join(dir, 'exports');
    mkdirSync(source);
    writeCsv(source, '2024-11-05.csv', FULL_DAY);
    writeFileSync(join(source, '2024-11-06.csv'), '');
    const result = await cli('backfill', source, '--lake', join(dir, 'lake'));
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `[1/2] ${join(source, '2024-11-05.csv')}: SUCCEEDED`,
      `[2/2] ${join(source, '2024-11-06.csv')}: FAILED`,
      `error: ${join(source, '2024-11-06.csv')}: the file is empty`,
    ]);
    expect(result.stdout).toMatch(/2 runs: 1 succeeded, 1 failed/);
    expect(result.code).toBe(3);
  });
});
