import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLakeLock } from '../local/lock';
import { objectKeyFor } from '../local/runner';
import { runCli, startCli as start } from './support/cli';
import { removeDir, tempDir, writeCsv } from './support/lake';

const cli = (...args: string[]) => runCli(args);

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let dir: string;
beforeEach(() => {
  dir = tempDir('agent-etl-cli-');
});
afterEach(() => removeDir(dir));

describe('agent-etl', () => {
  test('run: a refused file fails the command with one line naming it; the good file still lands', async () => {
    const inbox = join(dir, 'inbox');
    const good = writeCsv(dir, 'good.csv', [
      '2024-11-05 10:00:00,801,ONLINE,',
      '2024-11-05 10:40:00,801,LOGOUT,',
    ]);
    mkdirSync(inbox);
    renameSync(good, join(inbox, 'a-good.csv'));
    writeFileSync(join(inbox, 'b-noise.csv'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff, 0x10]));
    const lake = join(dir, 'lake');
    const result = await cli('run', inbox, '--lake', lake);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error: ${join(inbox, 'b-noise.csv')}: not a text file (NUL byte at offset 4)`,
    ]);
    expect(result.stdout).toMatch(/2 files, 1 succeeded, 1 failed/);
    const report = await cli('export', 'report', '--lake', lake);
    expect(report.stdout).toBe(
      'Extension,Interval,Productive Hours\n801,11/5/2024 10:00:00 AM,0.5\n801,11/5/2024 10:30:00 AM,0.17\n',
    );
    const intervals = await cli('export', 'intervals', '--lake', lake);
    expect(intervals.stdout).toBe(
      [
        'extension,interval_start,productive_seconds,productive_hours,event_count',
        '801,2024-11-05 10:00:00,1800,0.5,1',
        '801,2024-11-05 10:30:00,600,0.16666666666666666,1',
        '',
      ].join('\n'),
    );
  });

  test('export: weekly and rejects as CSV and JSON, to a file', async () => {
    const lake = join(dir, 'lake');
    const csv = writeCsv(dir, 'week.csv', [
      '11/4/2024 9:00:00 AM,901,ONLINE,',
      'garbage,901,ONLINE,',
      '11/4/2024 10:00:00 AM,901,LOGOUT,',
    ]);
    expect((await cli('run', csv, '--lake', lake)).code).toBe(0);
    const out = join(dir, 'weekly.csv');
    expect((await cli('export', 'weekly', '--lake', lake, '--out', out)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(
      'extension,week_start,productive_hours,productive_intervals,active_intervals\n901,2024-11-04,1,2,3\n',
    );
    const rejects = JSON.parse((await cli('export', 'rejects', '--lake', lake, '--format', 'json')).stdout);
    expect(rejects).toEqual([
      {
        source_object: `bronze/${objectKeyFor(csv)}`,
        source_line: 3,
        reason: 'Done On "garbage" is not an accepted timestamp',
        raw_line: 'garbage,901,ONLINE,',
      },
    ]);
    const missing = await cli('export', 'weekly', '--lake', join(dir, 'no-such-lake'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no lake at .*no-such-lake: run `agent-etl run FILE/);
    expect(existsSync(join(dir, 'no-such-lake'))).toBe(false);
    const bad = await cli('export', 'everything', '--lake', lake);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/value 'everything' is invalid for argument 'table'/);
  });

  describe('on a larger file', () => {
    let events: string;
    beforeEach(async () => {
      events = join(dir, 'events.csv');
      // about 300,000 events: long enough that a run is still going when the test acts on it
      const generated = await cli(
        'generate',
        '--out',
        events,
        '--extensions',
        '2000',
        '--days',
        '14',
        '--seed',
        '5',
      );
      expect(generated.code).toBe(0);
    });

    test('a command finding the lake in use waits for it, or fails at once with --wait 0', async () => {
      const lake = join(dir, 'lake');
      expect((await cli('run', events, '--lake', lake)).code).toBe(0);
      let released = false;
      const held = withLakeLock(lake, 0, () => until(() => released, 30_000));
      const impatient = await cli('export', 'weekly', '--lake', lake, '--wait', '0');
      expect(impatient.code).toBe(1);
      expect(impatient.stderr).toMatch(
        /^error: lake .* is in use by another agent-etl command \(waited 0 s\)/,
      );
      const patient = start(['export', 'weekly', '--lake', lake, '--wait', '30']);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(patient.child.exitCode).toBeNull(); // still waiting
      released = true;
      await held;
      const waited = await patient.done;
      expect(waited.code).toBe(0);
      expect(waited.stdout.startsWith('extension,week_start,')).toBe(true);
    });

    test('two runs on one lake at once both complete, one after the other, and nothing is corrupted', async () => {
      const reference = join(dir, 'reference');
      expect((await cli('run', events, '--lake', reference)).code).toBe(0);
      const expected = (await cli('export', 'intervals', '--lake', reference)).stdout;

      const lake = join(dir, 'lake');
      const [a, b] = await Promise.all([
        start(['run', events, '--lake', lake]).done,
        start(['run', events, '--lake', lake]).done,
      ]);
      expect([a.code, b.code]).toEqual([0, 0]);
      expect((await cli('export', 'intervals', '--lake', lake)).stdout).toBe(expected);
      const runs = JSON.parse((await cli('export', 'runs', '--lake', lake, '--format', 'json')).stdout);
      expect(runs.map((r: { status: string }) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    });
  });
});
