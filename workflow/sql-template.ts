import type { StepParameter } from './steps';

const TOKEN = /\{([a-z_]+)\}/g;
const PARAMETERS: readonly StepParameter[] = [
  'run_id',
  'started_at',
  'source_object',
  'source_etag',
  'error',
  'first_day',
  'last_day',
  'object_first_day',
  'object_last_day',
  'object_published_run',
  'object_unfinished_runs',
  'loaded_first_day',
  'loaded_last_day',
];

function isParameter(name: string): name is StepParameter {
  return (PARAMETERS as readonly string[]).includes(name);
}

/**
 * The text both engines run: comments dropped and lines joined, because the text travels inside a
 * States.Format string literal, which holds no line breaks. (No file of sql/ has `--` inside a string.)
 */
export function normalizeSql(sql: string): string {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, '').trim())
    .filter((line) => line.length > 0)
    .join(' ');
}

/** The `{name}` values a file takes, in order of appearance (repeats included). */
export function templateParameters(sql: string): StepParameter[] {
  return [...sql.matchAll(TOKEN)].map(([token, name]) => {
    if (!name || !isParameter(name)) throw new Error(`unknown SQL parameter ${token}`);
    return name;
  });
}

/** A States.Format template string literal: `\`, `'`, `{` and `}` are escaped with a backslash. */
function intrinsicLiteral(text: string): string {
  return `'${text.replace(/[\\'{}]/g, (c) => `\\${c}`)}'`;
}

/**
 * The intrinsic expression that makes the query text in the state machine: the normalized SQL as a
 * States.Format template, each `{name}` filled with the base64 that `expressions[name]` evaluates to.
 * Returns the plain text when the file takes no value.
 */
export function queryStringExpression(
  sql: string,
  expressions: Readonly<Partial<Record<StepParameter, string>>>,
): { readonly text: string } | { readonly expression: string } {
  const text = normalizeSql(sql);
  const names = templateParameters(text);
  if (names.length === 0) return { text };
  const literal = text
    .split(TOKEN)
    .map((part, index) => (index % 2 === 0 ? intrinsicLiteral(part).slice(1, -1) : '{}'))
    .join('');
  const args = names.map((name) => {
    const expression = expressions[name];
    if (!expression) throw new Error(`the state machine cannot supply {${name}}`);
    return expression;
  });
  return { expression: `States.Format('${literal}', ${args.join(', ')})` };
}

export function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** The same text filled in by code (the run-failed handler): the base64 of each value. */
export function renderSql(sql: string, values: Readonly<Partial<Record<StepParameter, string>>>): string {
  return normalizeSql(sql).replace(TOKEN, (token, name: string) => {
    const value = isParameter(name) ? values[name] : undefined;
    if (value === undefined) throw new Error(`no value for ${token}`);
    return base64(value);
  });
}
