import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TrinoSQL } from 'dt-sql-parser';
import { readSql, SQL_DIR } from '../workflow/steps';

function sqlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.sql'))
    .map((name) => join(dir, name))
    .sort();
}

const trino = new TrinoSQL();

describe('sql/ is Athena (Trino) SQL', () => {
  const files = sqlFiles(SQL_DIR);

  test('the pipeline has SQL files to check', () => {
    expect(files.map((file) => relative(SQL_DIR, file))).toEqual(
      expect.arrayContaining(['pipeline/03_merge_intervals.sql', 'failure/record_failed_run.sql']),
    );
  });

  test.each(files.map((file) => [relative(SQL_DIR, file), file]))(
    '%s parses with the Trino grammar',
    (_, file) => {
      // As the engines run it: `-- include` lines expanded.
      const errors = trino.validate(readSql(relative(SQL_DIR, file)));
      expect(errors.map((e) => `${e.startLine}:${e.startColumn} ${e.message}`)).toEqual([]);
    },
  );

  test.each(files.map((file) => [relative(SQL_DIR, file), file]))(
    '%s holds exactly one statement',
    (_, file) => {
      const text = readSql(relative(SQL_DIR, file)).replace(/--.*$/gm, '');
      expect(text.trim().endsWith(';')).toBe(false);
      expect(text.includes(';')).toBe(false);
    },
  );

  test.each([
    ['group by all', 'select extension, count(*) from agent_intervals group by all'],
    ['integer division operator', 'select 7 // 2 from agent_intervals'],
  ])('the grammar check rejects DuckDB-only syntax: %s', (_, sql) => {
    expect(trino.validate(sql).length).toBeGreaterThan(0);
  });
});
