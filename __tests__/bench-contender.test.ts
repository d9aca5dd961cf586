import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { assertAgreement, compareWithPipeline, runSingleQuery } from '../bench/contenders';
import { generateEvents } from '../cli/generate';
import { Lake, lakePaths } from '../local/lake';
import { runFile } from '../local/runner';
import { removeDir, tempDir, writeCsv } from './support/lake';

/** Runs the files through the pipeline in order, then closes the lake so its warehouse can be read. */
async function pipelineLake(lakeDir: string, files: readonly string[]): Promise<string> {
  const lake = await Lake.open(lakeDir);
  try {
    for (const file of files) expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
  } finally {
    lake.close();
  }
  return lakePaths(lakeDir).warehouse;
}

describe('the benchmark single-query contender', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('agent-etl-bench-');
  });
  afterEach(() => removeDir(dir));

  test('equals the pipeline on generated data: a cold load, and a day added to history', async () => {
    const history = join(dir, 'history.csv');
    const day = join(dir, 'day.csv');
    // night agents work past midnight, so the new day's first events meet the history's last ones
    generateEvents(history, { extensions: 25, days: 3, start: '2024-11-08', seed: 5 });
    generateEvents(day, { extensions: 25, days: 1, start: '2024-11-11', seed: 6 });

    const cold = await pipelineLake(join(dir, 'cold'), [history]);
    await runSingleQuery([history], join(dir, 'cold.parquet'));
    const coldAgreement = await compareWithPipeline(cold, join(dir, 'cold.parquet'));
    expect(coldAgreement.pipelineRows).toBeGreaterThan(500);
    expect(coldAgreement).toEqual({
      pipelineRows: coldAgreement.pipelineRows,
      contenderRows: coldAgreement.pipelineRows,
      onlyInPipeline: [],
      onlyInContender: [],
    });

    const grown = await pipelineLake(join(dir, 'grown'), [history, day]);
    await runSingleQuery([history, day], join(dir, 'grown.parquet'));
    const grownAgreement = await compareWithPipeline(grown, join(dir, 'grown.parquet'));
    expect(grownAgreement.pipelineRows).toBeGreaterThan(coldAgreement.pipelineRows);
    expect(() => assertAgreement(grownAgreement, 'day into history')).not.toThrow();
  });

  test('follows the rule on the cases that are easy to get wrong', async () => {
    const file = writeCsv(dir, 'edges.csv', [
      // productive across a boundary, then a duplicate row, then two events at one instant
      '11/04/2024 9:20:00 AM,7001,ONLINE,',
      '11/04/2024 9:20:00 AM,7001,ONLINE,',
      '11/04/2024 10:05:00 AM,7001,OFFLINE,Lunch',
      '11/04/2024 10:05:00 AM,7001,ONLINE,',
      '11/04/2024 10:40:00 AM,7001, offline ,backoffice',
      // other accepted formats, padded; the last event lasts to the end of its own interval
      ' 2024-11-04 11:10:00 ,7001,LOGOUT,',
      '2024-11-04T09:59:59,7002,REMVCEON,',
      // rejected rows are left out: no timestamp, empty extension
      'yesterday,7001,ONLINE,',
      '11/04/2024 9:00:00 AM,,ONLINE,',
    ]);
    const warehouse = await pipelineLake(join(dir, 'lake'), [file]);
    const out = join(dir, 'edges.parquet');
    await runSingleQuery([file], out);
    const agreement = await compareWithPipeline(warehouse, out);
    expect(agreement.onlyInPipeline).toEqual([]);
    expect(agreement.onlyInContender).toEqual([]);

    // The rule worked by hand, independent of both: 7001 is productive 9:20 to 10:05 (ONLINE is last
    // at 10:05 in action order) and on through 11:10; 7002 from 9:59:59 to the end of its interval.
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `select extension, strftime(interval_start, '%H:%M') as at, productive_ms, event_count
       from read_parquet('${out}') order by all`,
    );
    connection.closeSync();
    instance.closeSync();
    expect(reader.getRowObjectsJson()).toEqual([
      { extension: '7001', at: '09:00', productive_ms: String(10 * 60_000), event_count: '1' },
      { extension: '7001', at: '09:30', productive_ms: String(30 * 60_000), event_count: '0' },
      { extension: '7001', at: '10:00', productive_ms: String(30 * 60_000), event_count: '2' },
      { extension: '7001', at: '10:30', productive_ms: String(30 * 60_000), event_count: '1' },
      { extension: '7001', at: '11:00', productive_ms: String(10 * 60_000), event_count: '1' },
      { extension: '7002', at: '09:30', productive_ms: '1000', event_count: '1' },
    ]);
  });

  test('a contender that drifts from the pipeline is caught, naming the rows', async () => {
    const file = join(dir, 'small.csv');
    generateEvents(file, { extensions: 4, days: 1, start: '2024-11-05', seed: 9 });
    const warehouse = await pipelineLake(join(dir, 'lake'), [file]);
    // drift: the last event of the file dropped from the contender's input
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const drifted = join(dir, 'drifted.csv');
    writeFileSync(drifted, `${lines.slice(0, -1).join('\n')}\n`);
    await runSingleQuery([drifted], join(dir, 'drifted.parquet'));
    const agreement = await compareWithPipeline(warehouse, join(dir, 'drifted.parquet'));
    expect(agreement.onlyInPipeline.length + agreement.onlyInContender.length).toBeGreaterThan(0);
    expect(() => assertAgreement(agreement, 'drift check')).toThrow(
      /drift check: the single query and the pipeline disagree .*only in the pipeline: \S+/,
    );
  });
});
