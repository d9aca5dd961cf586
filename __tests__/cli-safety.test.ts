import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { generateEvents } from '../cli/generate';
import {
  backfillCommand,
  type CommandIo,
  forgetCommand,
  rerunCommand,
  statusCommand,
} from '../cli/ops/commands';
import { LocalTarget } from '../cli/ops/local-target';
import { runDayValues } from '../handlers/run-failed/backstop';
import { Lake } from '../local/lake';
import {
  closeInterruptedRuns,
  INTERRUPTED_CAUSE,
  keyProblem,
  objectKeyFor,
  runFile,
  successPath,
} from '../local/runner';
import { renderSql } from '../workflow/sql-template';
import { RUN_DAYS, readSql, UNDO_STEPS } from '../workflow/steps';
import {
  canRunAsAnotherUser,
  captureIo,
  runCli as cli,
  runCliAsAnotherUser,
  startCli as start,
} from './support/cli';
import { dataExports, removeDir, tempDir, withLakeAt, writeCsv } from './support/lake';

/**
 * The operator's command at its edges (issue 20): nothing of a killed run survives the next command,
 * object keys keep every character, nothing is written into the lake, lake paths are literal, and one
 * file's error never stops the others. In-process where the behaviour allows; a child process where the
 * process boundary is the point (a kill, argument parsing, another user).
 */

const lines = (text: string) => text.trimEnd().split('\n');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function localTarget(lake: Lake, root: string, io: CommandIo): LocalTarget {
  return new LocalTarget(lake, { root, check: false, timeZone: 'UTC', stderr: io.stderr });
}

let dir: string;
beforeEach(() => {
  dir = tempDir('agent-etl-safety-');
});
afterEach(() => removeDir(dir));

describe('a run killed part-way (items 1 and 13)', () => {
  // Two generated days whose extensions overlap, so the second day's windows reach into the first's.
  // `changed` is a new version of the second file at the same path covering only its first hours: the
  // case where a killed run's intervals used to stay as phantom hours.
  let shared: string;
  let first: string;
  let second: string;
  let secondText: string;
  let changedText: string;
  let beforeSecond: Record<string, string>;
  let withSecond: Record<string, string>;
  let withChanged: Record<string, string>;

  beforeAll(async () => {
    shared = tempDir('agent-etl-kills-');
    first = join(shared, 'day-1.csv');
    second = join(shared, 'day-2.csv');
    generateEvents(first, { extensions: 6, days: 1, start: '2024-11-04', seed: 7 });
    generateEvents(second, { extensions: 6, days: 1, start: '2024-11-05', seed: 8 });
    secondText = readFileSync(second, 'utf8');
    const [header, ...rows] = secondText.trimEnd().split('\n');
    changedText = `${[header, ...rows.slice(0, Math.floor(rows.length / 3))].join('\n')}\n`;
    await withLakeAt(join(shared, 'clean'), async (lake) => {
      expect((await runFile(lake, first)).status).toBe('SUCCEEDED');
      beforeSecond = await dataExports(lake);
      expect((await runFile(lake, second)).status).toBe('SUCCEEDED');
      withSecond = await dataExports(lake);
      writeFileSync(second, changedText);
      expect((await runFile(lake, second)).status).toBe('SUCCEEDED');
      withChanged = await dataExports(lake);
      writeFileSync(second, secondText);
    });
    // The cases differ, or the comparisons below could not tell a phantom from the truth.
    expect(withChanged.intervals).not.toBe(withSecond.intervals);
    expect(withChanged.intervals).not.toBe(beforeSecond.intervals);
  }, 120_000);
  afterAll(() => removeDir(shared));

  /**
   * After the kill: the next command closes the run and undoes it; nothing of it shows in the exports;
   * then the same path with other content gives the clean exports of that content.
   */
  async function recoverAndRerun(root: string, file: string): Promise<void> {
    await withLakeAt(root, async (lake) => {
      const closed = await closeInterruptedRuns(lake);
      const runs = await lake.query(
        `select run_id, status, error from pipeline_runs where source_object = ? order by started_at`,
        [`bronze/${objectKeyFor(file)}`],
      );
      expect(runs.filter((run) => run.status === 'RUNNING')).toEqual([]);
      const committed = runs.some((run) => run.status === 'SUCCEEDED');
      expect(await dataExports(lake)).toEqual(committed ? withSecond : beforeSecond);
      for (const run of closed) {
        const row = runs.find((r) => r.run_id === run.runId);
        expect(row?.status).toBe('FAILED');
        expect(row?.error).toBe(`Interrupted: ${INTERRUPTED_CAUSE}`);
        expect(run.completion?.status).toBe('FAILED');
      }
      expect(closed.length + runs.filter((run) => run.status === 'SUCCEEDED').length).toBe(
        runs.length === 0 ? 0 : 1,
      );

      writeFileSync(file, changedText);
      expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
      expect(await dataExports(lake)).toEqual(withChanged);
      // Closed once: the next command finds nothing more to close, and no row is left RUNNING.
      expect(await closeInterruptedRuns(lake)).toEqual([]);
      const [unfinished] = await lake.query(
        `select count(*) as n from pipeline_runs where status = 'RUNNING'`,
      );
      expect(Number(unfinished?.n)).toBe(0);
    });
  }

  async function lakeWithFirst(name: string): Promise<{ root: string; file: string }> {
    const root = join(dir, name);
    await withLakeAt(root, async (lake) => {
      expect((await runFile(lake, first)).status).toBe('SUCCEEDED');
    });
    const file = join(dir, `${name}-day-2.csv`);
    writeFileSync(file, secondText);
    return { root, file };
  }

  test.each(successPath())(
    'killed right after %s committed: undone before the next run, which gives the clean exports',
    async (state) => {
      const { root, file } = await lakeWithFirst(state);
      const killed = await cli(['run', file, '--lake', root, '--no-check'], {
        AGENT_ETL_FAULT: `${state}:kill`,
      });
      expect(killed.signal).toBe('SIGKILL');
      await recoverAndRerun(root, file);
    },
    60_000,
  );

  test('killed by SIGKILL at several moments of a run: the same', async () => {
    for (const delayMs of [700, 1100, 1500, 1900, 2400]) {
      const { root, file } = await lakeWithFirst(`sigkill-${delayMs}`);
      const victim = start(['run', file, '--lake', root, '--no-check']);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      victim.child.kill('SIGKILL');
      await victim.done;
      if (delayMs === 1500) {
        // The command can read the lake the killed run left (once its lock is found stale).
        const readable = await cli(['export', 'weekly', '--lake', root]);
        expect([readable.code, readable.stderr]).toEqual([0, '']);
        expect(readable.stdout).toMatch(/^extension,week_start,/);
      }
      await recoverAndRerun(root, file);
    }
  }, 120_000);

  test('a failed run killed during its undo is undone by the next command', async () => {
    const { root, file } = await lakeWithFirst('undo');
    await withLakeAt(root, async (lake) => {
      process.env.AGENT_ETL_FAULT = 'MergeWeeklySummary:after';
      const failed = await runFile(lake, file).finally(() => {
        delete process.env.AGENT_ETL_FAULT;
      });
      expect(failed.status).toBe('FAILED');
      expect(await dataExports(lake)).toEqual(beforeSecond);
      // As if the process died after RecordFailedRun, before the undo steps: the run's merges stand.
      await lake.query(`update pipeline_runs set status = 'RUNNING' where run_id = ?`, [failed.runId]);
      const values = await runDayValues(lake, readSql(RUN_DAYS.file), failed.runId);
      for (const step of UNDO_STEPS) await lake.query(renderSql(readSql(step.file), values));
      await lake.query(`update pipeline_runs set status = 'FAILED' where run_id = ?`, [failed.runId]);
      expect(await dataExports(lake)).toEqual(withSecond);

      expect(await closeInterruptedRuns(lake)).toEqual([]);
      expect(await dataExports(lake)).toEqual(beforeSecond);
    });
  });

  test('the command closes a killed run before its own: one warning, the row FAILED, status clear', async () => {
    const { root, file } = await lakeWithFirst('command');
    const killed = await cli(['run', file, '--lake', root, '--no-check'], {
      AGENT_ETL_FAULT: 'MergeIntervals:kill',
    });
    expect(killed.signal).toBe('SIGKILL');
    // The killed process left its lock; it goes stale after 10 s. Removed here to keep the test short.
    rmSync(join(root, '.lock'), { recursive: true, force: true });
    writeFileSync(file, changedText);
    const next = await cli(['run', file, '--lake', root, '--no-check']);
    expect(next.code).toBe(0);
    expect(lines(next.stderr)).toEqual([
      expect.stringMatching(
        /^warning: run local-\S+ of bronze\/\S+ did not finish \(interrupted\); its row is now FAILED and what it merged was undone$/,
      ),
    ]);
    await withLakeAt(root, async (lake) => {
      expect(await dataExports(lake)).toEqual(withChanged);
      const io = captureIo();
      const code = await statusCommand(
        localTarget(lake, root, io),
        { days: 1, until: '2024-11-05', json: true, now: new Date() },
        io,
      );
      const report = JSON.parse(io.out.join(''));
      expect(report.runs.map((run: { state: string }) => run.state).sort()).toEqual([
        'failed',
        'succeeded',
        'succeeded',
      ]);
      expect(report.to_rerun).toEqual([]);
      expect(code).toBe(report.ok ? 0 : 3);
    });
  }, 60_000);
});

describe('object keys (item 2)', () => {
  test('a backslash stays a backslash: in/a\\b.csv and in/a/b.csv are two objects, both standing', async () => {
    const inbox = join(dir, 'in');
    mkdirSync(join(inbox, 'a'), { recursive: true });
    const slashed = writeCsv(join(inbox, 'a'), 'b.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    const backslashed = writeCsv(inbox, 'a\\b.csv', ['2024-11-05 10:00:00,802,ONLINE,']);
    const keys = [objectKeyFor(slashed), objectKeyFor(backslashed)];
    // Byte for byte: the key is the path without its leading slash, the backslash included.
    expect(keys[1]).toBe(backslashed.slice(1));
    expect(keys[0]).toBe(slashed.slice(1));
    expect(keys[1]).not.toBe(keys[0]);
    const encoded = writeCsv(inbox, 'a%5Cb.csv', ['2024-11-05 10:00:00,804,ONLINE,']);
    expect(objectKeyFor(encoded)).toBe(encoded.slice(1));
    await withLakeAt(join(dir, 'lake'), async (lake) => {
      for (const file of [slashed, backslashed, encoded, slashed]) {
        expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
      }
      const intervals = await lake.query('select extension from agent_intervals order by extension');
      expect(intervals.map((row) => row.extension)).toEqual(['801', '802', '804']);
      const objects = await lake.query('select distinct source_object from pipeline_runs order by 1');
      expect(objects.map((row) => row.source_object)).toEqual(
        [keys[0], keys[1], objectKeyFor(encoded)].map((key) => `bronze/${key}`).sort(),
      );
      expect(readFileSync(join(lake.paths.bronze, keys[1] ?? ''), 'utf8')).toContain(',802,');
    });
  });

  test('a name starting ..\\ is an ordinary name, not a parent folder', async () => {
    const file = writeCsv(dir, '..\\x.csv', ['2024-11-05 10:00:00,803,ONLINE,']);
    expect(objectKeyFor(file).endsWith('/..\\x.csv')).toBe(true);
    await withLakeAt(join(dir, 'lake'), async (lake) => {
      expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
    });
  });

  test('a key over 1,024 bytes is refused with its length and the S3 limit', () => {
    expect(keyProblem('k'.repeat(1024))).toBeUndefined();
    expect(keyProblem('é'.repeat(513))).toMatch(
      /^its object key is 1,026 bytes, over S3's limit of 1,024 bytes \(UTF-8\)/,
    );
    expect(keyProblem('a/../b.csv')).toMatch(/empty, \. or \.\. segment/);
    expect(keyProblem('')).toBe('the object key is empty');
    expect(keyProblem('in/a\\b.csv')).toBeUndefined();
  });
});

describe('per-file errors never stop the others (item 5)', () => {
  test('run: a key too long, a copy into bronze that fails, a good file: a line each, a FAILED row and alert, the summary', async () => {
    const deep = join(dir, ...Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(220)}`));
    mkdirSync(deep, { recursive: true });
    const long = writeCsv(deep, 'long.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    const blocked = writeCsv(dir, 'blocked.csv', ['2024-11-05 10:00:00,802,ONLINE,']);
    const good = writeCsv(dir, 'good.csv', ['2024-11-05 10:00:00,803,ONLINE,']);
    const lake = join(dir, 'lake');
    // Where the copy of blocked.csv would go is a folder: copying into bronze fails, as on a full disk.
    mkdirSync(join(lake, 'bronze', objectKeyFor(blocked)), { recursive: true });
    const result = await cli(['run', long, blocked, good, '--lake', lake]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^agent-etl run: 2 files, 1 succeeded, 1 failed/);
    expect(lines(result.stderr)).toEqual([
      `error: ${long}: its object key is ${Buffer.byteLength(objectKeyFor(long)).toLocaleString('en-US')} bytes, over S3's limit of 1,024 bytes (UTF-8); move the file to a shorter path or name it with --key`,
      expect.stringMatching(
        new RegExp(
          `^error: ${blocked.replaceAll('.', '\\.')}: CopyToBronze: EISDIR: illegal operation on a directory`,
        ),
      ),
    ]);
    const runs = JSON.parse((await cli(['export', 'runs', '--lake', lake, '--format', 'json'])).stdout);
    expect(
      runs.map((run: { source_object: string; status: string }) => [run.source_object, run.status]),
    ).toEqual([
      [`bronze/${objectKeyFor(blocked)}`, 'FAILED'],
      [`bronze/${objectKeyFor(good)}`, 'SUCCEEDED'],
    ]);
    const alerts = lines(readFileSync(join(lake, 'outbox', 'notifications.jsonl'), 'utf8')).map((line) =>
      JSON.parse(line),
    );
    expect(alerts.filter((alert) => String(alert.message).includes('CopyToBronze'))).toHaveLength(1);
  });

  test('backfill: a dangling link and a key too long get a line each; the other files run; exit 3', async () => {
    const source = join(dir, 'exports');
    mkdirSync(source);
    writeCsv(source, '2024-11-05.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    symlinkSync(join(dir, 'gone.csv'), join(source, '2024-11-06.csv'));
    const deep = join(source, ...Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(220)}`));
    mkdirSync(deep, { recursive: true });
    writeCsv(deep, '2024-11-07.csv', ['2024-11-07 10:00:00,802,ONLINE,']);
    writeCsv(source, '2024-11-08.csv', ['2024-11-08 10:00:00,803,ONLINE,']);
    const root = join(dir, 'lake');
    await withLakeAt(root, async (lake) => {
      const io = captureIo();
      const code = await backfillCommand(localTarget(lake, root, io), source, {}, io);
      expect(code).toBe(3);
      const errors = io.err
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('error: '));
      expect(errors).toEqual([
        `error: ${join(source, '2024-11-06.csv')}: a symbolic link to nothing`,
        expect.stringMatching(/^error: .*2024-11-07\.csv: its object key is [\d,]+ bytes, over S3's limit/),
      ]);
      expect(io.out.join('')).toMatch(/2 runs: 2 succeeded, 0 failed, 1 refused before a run/);
      const intervals = await lake.query('select extension from agent_intervals order by extension');
      expect(intervals.map((row) => row.extension)).toEqual(['801', '803']);
    });
  });
});

describe('rerun --failed with a lost bronze copy (item 7)', () => {
  const FULL_DAY = ['2024-11-05 00:00:00,801,ONLINE,', '2024-11-05 23:59:00,801,LOGOUT,'];

  test('the lost object is named, the others rerun; forget clears it and status is all well again', async () => {
    const root = join(dir, 'lake');
    const full = writeCsv(dir, 'full.csv', FULL_DAY);
    const broken = (name: string) => writeCsv(dir, name, ['2024-11-05,901'], 'Done On,Extension');
    const fixable = broken('fixable.csv');
    const lost = broken('lost.csv');
    await withLakeAt(root, async (lake) => {
      for (const file of [full, fixable, lost]) await runFile(lake, file);
      const key = (file: string) => objectKeyFor(file);
      writeCsv(join(root, 'bronze', key(fixable), '..'), 'fixable.csv', ['2024-11-05 09:00:00,902,ONLINE,']);
      rmSync(join(root, 'bronze', key(lost)));
      const io = captureIo();
      const target = localTarget(lake, root, io);
      expect(await rerunCommand(target, [], { failed: true }, io)).toBe(3);
      const lostObject = `bronze/${key(lost)}`;
      expect(io.err.join('')).toContain(
        `error: ${lostObject}: no such object (${join(root, 'bronze', key(lost))} is missing); put the file back with \`agent-etl run FILE --key ${key(lost)}\`, or withdraw the object with \`agent-etl forget ${lostObject}\`\n`,
      );
      expect(io.out.join('')).toMatch(
        /1 run: 1 succeeded, 0 failed, in [\d.]+ s; 1 object not found, not rerun\n$/,
      );
      const status = async () => {
        const out = captureIo();
        const code = await statusCommand(
          target,
          { days: 1, until: '2024-11-05', json: true, now: new Date() },
          out,
        );
        return { code, report: JSON.parse(out.out.join('')) };
      };
      const stuck = await status();
      expect(stuck.code).toBe(3);
      expect(stuck.report.to_rerun.map((o: { source_object: string }) => o.source_object)).toEqual([
        lostObject,
      ]);

      // forget refuses an object whose copy is there, and a name the lake never ran.
      await expect(forgetCommand(target, [`bronze/${key(full)}`], captureIo())).rejects.toThrow(
        /its bronze copy is there/,
      );
      await expect(forgetCommand(target, ['bronze/nope.csv'], captureIo())).rejects.toThrow(
        /no run of this object/,
      );
      const before = await dataExports(lake);
      const forgot = captureIo();
      expect(await forgetCommand(target, [lostObject], forgot)).toBe(0);
      expect(forgot.out.join('')).toMatch(
        new RegExp(
          `^agent-etl forget: ${lostObject.replaceAll('.', '\\.')} withdrawn \\(run local-\\S+\\)\\n$`,
        ),
      );
      expect(await dataExports(lake)).toEqual(before);
      const clear = await status();
      expect(clear.report.to_rerun).toEqual([]);
      expect(clear.code).toBe(0);
      const again = captureIo();
      expect(await rerunCommand(target, [], { failed: true }, again)).toBe(0);
    });
  });

  test('forget withdraws what the object had published: its hours and rejects stop counting', async () => {
    const root = join(dir, 'lake');
    const stays = writeCsv(dir, 'stays.csv', [
      '2024-11-05 10:00:00,801,ONLINE,',
      '2024-11-05 11:00:00,801,LOGOUT,',
    ]);
    const goes = writeCsv(dir, 'goes.csv', ['2024-11-05 10:00:00,802,ONLINE,', 'bad,802,ONLINE,']);
    await withLakeAt(join(dir, 'reference'), async (lake) => {
      await runFile(lake, stays);
      const reference = await dataExports(lake);
      await withLakeAt(root, async (other) => {
        for (const file of [stays, goes]) expect((await runFile(other, file)).status).toBe('SUCCEEDED');
        expect((await dataExports(other)).rejects).toContain('bad,802');
        rmSync(join(root, 'bronze', objectKeyFor(goes)));
        const io = captureIo();
        expect(await forgetCommand(localTarget(other, root, io), [`bronze/${objectKeyFor(goes)}`], io)).toBe(
          0,
        );
        expect(await dataExports(other)).toEqual(reference);
      });
    });
  });
});

describe('lake paths are literal (item 4)', () => {
  test.each([
    ['lake[1]', 'lake1'],
    ['lake [prod]', 'lake p'],
    ['lake*', 'lakeX'],
  ])('%s reads its own files, not those of %s, which it would match as a pattern', async (name, decoy) => {
    await withLakeAt(join(dir, decoy), async (lake) => {
      const other = writeCsv(dir, 'other.csv', ['2024-11-05 10:00:00,999,ONLINE,']);
      expect((await runFile(lake, other)).status).toBe('SUCCEEDED');
    });
    const file = writeCsv(dir, 'mine.csv', [
      '2024-11-05 10:00:00,801,ONLINE,',
      '2024-11-05 10:20:00,801,LOGOUT,',
    ]);
    await withLakeAt(join(dir, name), async (lake) => {
      const run = await runFile(lake, file);
      expect(run.status).toBe('SUCCEEDED');
      const [row] = await lake.query(`select rows_loaded from pipeline_runs where run_id = ?`, [run.runId]);
      expect(Number(row?.rows_loaded)).toBe(2);
      const events = await lake.query('select distinct extension from agent_events');
      expect(events.map((e) => e.extension)).toEqual(['801']);
    });
    // Opened again, the silver views still read the lake's own files.
    await withLakeAt(join(dir, name), async (lake) => {
      const intervals = await lake.query('select extension, productive_ms from agent_intervals');
      expect(intervals).toEqual([{ extension: '801', productive_ms: '1200000' }]);
      expect(Number((await lake.query('select count(*) as n from agent_events'))[0]?.n)).toBe(2);
    });
  });
});

test("a lake path holding '?' is refused: DuckDB would put its log elsewhere", async () => {
  await expect(Lake.open(join(dir, 'lake?'))).rejects.toThrow(
    /a path holding '\?' cannot hold a DuckDB database; choose another folder/,
  );
});

describe('no write into the lake, no lake from an empty path (items 3 and 14)', () => {
  test('report --out inside the lake is refused with one line and the lake is untouched', async () => {
    const root = join(dir, 'lake');
    const file = writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    await withLakeAt(root, async (lake) => {
      expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
    });
    const bronze = join(root, 'bronze', objectKeyFor(file));
    const before = [sha(join(root, 'warehouse.duckdb')), sha(bronze)];
    for (const out of [join(root, 'warehouse.duckdb'), bronze, join(root, 'report.html')]) {
      const result = await cli(['report', '--lake', root, '--out', out]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: --out .* is inside the lake .*; write the report to a file outside it\n$/,
      );
    }
    expect([sha(join(root, 'warehouse.duckdb')), sha(bronze)]).toEqual(before);
    expect(existsSync(join(root, 'report.html'))).toBe(false);
  });

  test.each([['run', 'a.csv'], ['status'], ['report'], ['export', 'intervals'], ['backfill', '.']])(
    "--lake '' is refused by %s, and the current folder stays as it was",
    async (...args) => {
      writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
      const result = await cli([...args, '--lake', ''], {}, dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: option '--lake <dir>' argument '' is invalid\. expected a lake directory, got ''/,
      );
      expect(readdirSync(dir)).toEqual(['a.csv']);
    },
  );

  (canRunAsAnotherUser ? test : test.skip)(
    'status and report work for a user who cannot write the lake, and change nothing in it',
    async () => {
      const root = join(dir, 'lake');
      await withLakeAt(root, async (lake) => {
        expect(
          (await runFile(lake, writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']))).status,
        ).toBe('SUCCEEDED');
      });
      const listing = () => readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
      const before = [listing(), sha(join(root, 'warehouse.duckdb'))];
      const out = join(dir, 'out');
      mkdirSync(out);
      chmodSync(out, 0o777);
      const asNobody = (...args: string[]) => runCliAsAnotherUser(args, out);
      const status = asNobody('status', '--lake', root, '--days', '1', '--until', '2024-11-05', '--json');
      expect([status.status, status.stderr]).toEqual([3, '']);
      expect(JSON.parse(status.stdout).runs.map((run: { status: string }) => run.status)).toEqual([
        'SUCCEEDED',
      ]);
      const report = asNobody('report', '--lake', root, '--out', join(out, 'r.html'));
      expect([report.status, report.stderr, report.stdout]).toEqual([0, '', `${join(out, 'r.html')}\n`]);
      expect(readFileSync(join(out, 'r.html'), 'utf8')).toMatch(/^<!doctype html>/i);
      expect([listing(), sha(join(root, 'warehouse.duckdb'))]).toEqual(before);
    },
    60_000,
  );
});

describe('status and check read through the strict twin', () => {
  test('what Athena would refuse is refused locally too, before DuckDB runs it', async () => {
    const io = captureIo();
    await withLakeAt(join(dir, 'lake'), async (lake) => {
      const target = localTarget(lake, join(dir, 'lake'), io);
      await expect(
        target.engine.query('select count(*) as n from pipeline_runs where run_id = ?', ['r']),
      ).resolves.toEqual([{ n: '0' }]);
      // DuckDB would run both; Athena takes a ? parameter only in a WHERE clause, and no empty statement.
      await expect(target.engine.query('select ? as n', ['1'])).rejects.toThrow(
        /only stand in a WHERE clause/,
      );
      await expect(target.engine.query('')).rejects.toThrow(/QueryString must be 1 to/);
    });
  });
});
