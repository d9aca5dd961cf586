import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkAfterRun } from '../cli/check/command';
import { generateEvents } from '../cli/generate';
import { Lake } from '../local/lake';
import { faultFor, runFile, successPath } from '../local/runner';
import { EMIT_SUCCEEDED_STATE } from '../workflow/definition';
import { dataExports, removeDir, tempDir } from './support/lake';

/**
 * AGENT_ETL_FAULT drills through the real state machine: for every task of the success path, failing
 * before its work and after it committed (the answer lost), on the second of two generated files.
 */
const dir = tempDir('agent-etl-faults-');
const first = join(dir, 'day-1.csv');
const second = join(dir, 'day-2.csv');
let clean: Record<string, string>;

async function withLakeAt<T>(name: string, work: (lake: Lake, root: string) => Promise<T>): Promise<T> {
  const root = join(dir, name);
  const lake = await Lake.open(root);
  try {
    return await work(lake, root);
  } finally {
    lake.close();
  }
}

function withFault<T>(fault: string, work: () => Promise<T>): Promise<T> {
  process.env.AGENT_ETL_FAULT = fault;
  return work().finally(() => {
    delete process.env.AGENT_ETL_FAULT;
  });
}

beforeAll(async () => {
  generateEvents(first, { extensions: 6, days: 1, start: '2024-11-04', seed: 7 });
  // The second day overlaps the first's extensions, so its windows reach into the first day's intervals.
  generateEvents(second, { extensions: 6, days: 1, start: '2024-11-05', seed: 8 });
  clean = await withLakeAt('clean', async (lake) => {
    for (const file of [first, second]) expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
}, 120_000);

afterAll(() => removeDir(dir));

/** A fault in the completion event comes after the commit: the run stays SUCCEEDED (drilled below). */
const committed = successPath().filter((state) => state !== EMIT_SUCCEEDED_STATE);
const drills = committed.flatMap((state) => [`${state}:before`, `${state}:after`]);

test('the drills cover every task of the success path, both moments', () => {
  expect(drills).toHaveLength((successPath().length - 1) * 2);
  expect(successPath()).toEqual(
    expect.arrayContaining(['LoadCsvToSilver', 'MergeIntervals', 'EmitRunSucceeded']),
  );
});

test.each(drills)(
  '%s: the run fails visibly, changes nothing, and a rerun gives the clean exports',
  async (fault) => {
    const state = fault.split(':')[0] as string;
    await withLakeAt(fault.replace(':', '-'), async (lake, root) => {
      expect((await runFile(lake, first)).status).toBe('SUCCEEDED');
      const before = await dataExports(lake);

      const failed = await withFault(fault, () => runFile(lake, second));
      expect(failed.status).toBe('FAILED');
      // A run reported failed contributes nothing: gold and rejects are as they were before it.
      expect(await dataExports(lake)).toEqual(before);
      const [row] = await lake.query('select status, error from pipeline_runs where run_id = ?', [
        failed.runId,
      ]);
      expect(row?.status).toBe('FAILED');
      expect(String(row?.error).startsWith(`${state}: `)).toBe(true);
      const events = readFileSync(join(root, 'outbox', 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).Detail);
      const failedEvents = events.filter((e) => e.run_id === failed.runId && e.status === 'FAILED');
      expect(failedEvents).toHaveLength(1);
      expect(failedEvents[0].error.startsWith(`${state}: `)).toBe(true);
      expect(failed.completion?.status).toBe('FAILED');
      const check = await checkAfterRun(root, failed.completion as never, lake);
      expect(check.failedRun).toBe(failed.runId);

      const rerun = await runFile(lake, second);
      expect(rerun.status).toBe('SUCCEEDED');
      expect(await dataExports(lake)).toEqual(clean);
    });
  },
  120_000,
);

test.each([`${EMIT_SUCCEEDED_STATE}:before`, `${EMIT_SUCCEEDED_STATE}:after`])(
  '%s: the committed run stays SUCCEEDED, the lost event alerts, and the coverage check still runs',
  async (fault) => {
    await withLakeAt(fault.replace(':', '-'), async (lake, root) => {
      expect((await runFile(lake, first)).status).toBe('SUCCEEDED');
      const run = await withFault(fault, () => runFile(lake, second));
      expect(run.status).toBe('SUCCEEDED');
      const [row] = await lake.query('select status from pipeline_runs where run_id = ?', [run.runId]);
      expect(row?.status).toBe('SUCCEEDED');
      expect(await dataExports(lake)).toEqual(clean);
      const alerts = readFileSync(join(root, 'outbox', 'notifications.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(alerts).toEqual([
        expect.objectContaining({
          attributes: { kind: 'completion-event-failed' },
          message: expect.stringContaining(`Run ${run.runId} of bronze/`),
        }),
      ]);
      expect(alerts[0].message).toContain('InjectedFault');
      expect(run.completion).toMatchObject({ status: 'SUCCEEDED', run_id: run.runId });
      const check = await checkAfterRun(root, run.completion as never, lake);
      expect(check.failedRun).toBeUndefined();
    });
  },
  120_000,
);

test('a fault naming no state of the pipeline is refused before any work', () => {
  expect(() => faultFor({ AGENT_ETL_FAULT: 'NoSuchState:before' })).toThrow(/AGENT_ETL_FAULT must be/);
  expect(() => faultFor({ AGENT_ETL_FAULT: 'MergeIntervals:during' })).toThrow(/AGENT_ETL_FAULT must be/);
  expect(faultFor({ AGENT_ETL_FAULT: 'MergeIntervals:after' })).toEqual({
    state: 'MergeIntervals',
    moment: 'after',
  });
});

test('a failed re-export of an object leaves its published version standing, rejects included', async () => {
  await withLakeAt('reexport', async (lake) => {
    const file = join(dir, 'reexport.csv');
    const write = (rows: string[]) =>
      writeFileSync(file, `${['Done On,Extension,Action,Details', ...rows].join('\n')}\n`);
    write(['2024-11-04 09:00:00,901,ONLINE,', 'not a date,901,ONLINE,', '2024-11-04 10:00:00,901,LOGOUT,']);
    expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
    const published = await dataExports(lake);
    expect(published.rejects).toContain('not a date');

    // A new version that changes both the hours and the rejects, whose run fails after merging.
    write([
      '2024-11-04 09:00:00,901,ONLINE,',
      'still not a date,901,ONLINE,',
      '2024-11-04 09:15:00,901,LOGOUT,',
    ]);
    const failed = await withFault('MergeWeeklySummary:after', () => runFile(lake, file));
    expect(failed.status).toBe('FAILED');
    expect(await dataExports(lake)).toEqual(published);

    // A later run of another object touching the same extension does not pick the failed rows up.
    const other = join(dir, 'other.csv');
    writeFileSync(other, 'Done On,Extension,Action,Details\n2024-11-04 11:00:00,901,ONLINE,\n');
    expect((await runFile(lake, other)).status).toBe('SUCCEEDED');
    const [hours] = await lake.query(
      `select sum(productive_ms) as ms from agent_intervals where extension = '901' and interval_start < timestamp '2024-11-04 10:00:00'`,
    );
    expect(Number(hours?.ms)).toBe(3_600_000);

    // Once the new version succeeds, it alone stands.
    const rerun = await runFile(lake, file);
    expect(rerun.status).toBe('SUCCEEDED');
    const now = await dataExports(lake);
    expect(now.rejects).toContain('still not a date');
    expect(now.rejects).not.toContain(',not a date');
    const [early] = await lake.query(
      `select sum(productive_ms) as ms from agent_intervals where extension = '901' and interval_start < timestamp '2024-11-04 10:00:00'`,
    );
    expect(Number(early?.ms)).toBe(15 * 60_000);
  });
}, 120_000);
