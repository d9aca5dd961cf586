/** A line `-- include <path below sql/>`: replaced by that file's text before a statement is used. */
const INCLUDE = /^[ \t]*-- include (\S+)[ \t]*$/gm;

/**
 * A statement with its includes expanded (one level): how a rule several statements share, the
 * productive-time rule of `sql/rule/productive_time.ctes`, is stated once. `read` gives a file's
 * text: from disk (workflow/steps.ts readSql) or from the text a Lambda bundle carries.
 */
export function expandIncludes(sql: string, read: (file: string) => string): string {
  return sql.replace(INCLUDE, (_, file: string) => read(file));
}
