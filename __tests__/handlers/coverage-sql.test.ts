import { TrinoSQL } from 'dt-sql-parser';
import { COVERAGE_SQL_FILES } from '../../handlers/coverage-check/queries';
import { readSql } from '../../workflow/steps';

describe('the coverage SQL', () => {
  it.each(Object.values(COVERAGE_SQL_FILES))('%s parses with the Trino grammar Athena uses', (file) => {
    const sql = readSql(file);
    expect(new TrinoSQL().validate(sql)).toEqual([]);
    expect(sql).not.toMatch(/group by all|\/\//i);
  });
});
