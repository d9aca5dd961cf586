import { executionParameter } from '../handlers/aws/athena-query-engine';
import type { QueryEngine, QueryRow, QueryValue } from '../handlers/ports';

/** A request that Athena (or Step Functions, Glue, EventBridge) would refuse, refused locally the same way. */
export class RefusedByAws extends Error {
  override readonly name = 'RefusedByAws';
}

/**
 * StartQueryExecution limits (https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html):
 * QueryString is 1 to 262,144 characters; ExecutionParameters holds at least one item, each 1 to 1,024
 * characters. Athena counts the query string in bytes ("Service quotas": the query string is limited to
 * 262,144 bytes), so a query is measured as UTF-8, not in UTF-16 units as JavaScript's `length` counts.
 */
export const MAX_QUERY_STRING = 262_144;
export const MAX_EXECUTION_PARAMETER = 1_024;

/**
 * "Use parameterized queries", Considerations and limitations
 * (https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html): parameters are
 * supported only in SELECT, INSERT INTO, CTAS and UNLOAD statements, only in the WHERE clause, and a `?`
 * may not stand inside quotes.
 */
const PARAMETERIZABLE = /^(select|with|insert\s+into|create\s+table\b[\s\S]*\bas\b|unload)\b/i;
const CLAUSE_KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'group',
  'having',
  'order',
  'limit',
  'on',
  'join',
  'values',
  'set',
  'using',
  'when',
  'then',
  'else',
  'window',
  'offset',
  'into',
]);

/** The statement with comments, string literals and quoted identifiers blanked out (lengths kept). */
function code(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, (m) => ' '.repeat(m.length))
    .replace(/'(?:[^']|'')*'/g, (m) => `'${'_'.repeat(m.length - 2)}'`)
    .replace(/"(?:[^"]|"")*"/g, (m) => `"${'_'.repeat(m.length - 2)}"`);
}

/** Where each `?` outside quotes sits, with the clause keyword nearest before it. */
function placeholders(sql: string): { index: number; clause: string | undefined }[] {
  const text = code(sql);
  const found: { index: number; clause: string | undefined }[] = [];
  let clause: string | undefined;
  for (const match of text.matchAll(/[A-Za-z_][A-Za-z0-9_]*|\?/g)) {
    const token = match[0].toLowerCase();
    if (token === '?') found.push({ index: match.index, clause });
    else if (CLAUSE_KEYWORDS.has(token)) clause = token;
  }
  return found;
}

export interface StartQueryExecutionRequest {
  readonly QueryString: string;
  readonly ExecutionParameters?: readonly string[];
}

/** Refuses what Athena's StartQueryExecution would refuse, before DuckDB sees the statement. */
export function checkStartQueryExecution(request: StartQueryExecutionRequest): void {
  const { QueryString: sql, ExecutionParameters: parameters } = request;
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes < 1 || bytes > MAX_QUERY_STRING) {
    throw new RefusedByAws(`Athena: QueryString must be 1 to ${MAX_QUERY_STRING} bytes, got ${bytes}`);
  }
  const template = /\{[a-z_]+\}/.exec(sql);
  if (template)
    throw new RefusedByAws(`Athena: the query text holds an unfilled template value ${template[0]}`);
  if (/'\?'|"\?"/.test(sql)) throw new RefusedByAws('Athena: a ? parameter cannot stand inside quotes');
  const marks = placeholders(sql);
  if (parameters !== undefined) {
    if (parameters.length === 0)
      throw new RefusedByAws('Athena: ExecutionParameters needs at least one item');
    for (const [i, value] of parameters.entries()) {
      if (value.length < 1 || value.length > MAX_EXECUTION_PARAMETER) {
        throw new RefusedByAws(
          `Athena: ExecutionParameters[${i}] must be 1 to ${MAX_EXECUTION_PARAMETER} characters, got ${value.length}`,
        );
      }
    }
  }
  if (marks.length !== (parameters?.length ?? 0)) {
    throw new RefusedByAws(
      `Athena: the query has ${marks.length} ? parameters but ${parameters?.length ?? 0} ExecutionParameters`,
    );
  }
  if (marks.length === 0) return;
  const statement = code(sql).trim();
  if (!PARAMETERIZABLE.test(statement)) {
    throw new RefusedByAws(
      `Athena: parameters are supported only in SELECT, INSERT INTO, CTAS and UNLOAD, not in ${statement.split(/\s+/)[0]?.toUpperCase()}`,
    );
  }
  for (const mark of marks) {
    if (mark.clause !== 'where') {
      throw new RefusedByAws(
        `Athena: a ? parameter may only stand in a WHERE clause (found one after ${mark.clause?.toUpperCase() ?? 'the start'})`,
      );
    }
  }
}

/**
 * A QueryEngine that checks every statement as Athena would before the local engine runs it: what
 * passes here is what the AWS adapter (handlers/aws/athena-query-engine.ts) can send.
 */
export class StrictAthenaEngine implements QueryEngine {
  constructor(private readonly engine: QueryEngine) {}

  async query(sql: string, parameters: readonly QueryValue[] = []): Promise<QueryRow[]> {
    checkStartQueryExecution({
      QueryString: sql,
      ExecutionParameters: parameters.length > 0 ? parameters.map(executionParameter) : undefined,
    });
    return this.engine.query(sql, parameters);
  }
}

/**
 * Step Functions passes at most 256 KiB (UTF-8) between states and to a task
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum input or output
 * size for a task, state, or execution").
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The Glue StartJobRun request the load state sends: exactly the job's arguments, each a string. */
export function checkStartJobRun(request: unknown, expected: readonly string[]): Record<string, string> {
  const { Arguments: args } = (request ?? {}) as { Arguments?: Record<string, unknown> };
  if (!args || typeof args !== 'object') throw new RefusedByAws('Glue: StartJobRun has no Arguments');
  const keys = Object.keys(args);
  if (keys.join() !== [...expected].join()) {
    throw new RefusedByAws(`Glue: expected arguments ${expected.join(', ')}, got ${keys.join(', ')}`);
  }
  for (const [key, value] of Object.entries(args)) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new RefusedByAws(`Glue: argument ${key} must be a non-empty string`);
    }
  }
  if (Buffer.byteLength(JSON.stringify(request)) > MAX_PAYLOAD_BYTES) {
    throw new RefusedByAws(`Glue: the StartJobRun request is over ${MAX_PAYLOAD_BYTES} bytes`);
  }
  return args as Record<string, string>;
}

export interface PutEventsEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: unknown;
  readonly Resources?: readonly string[];
  readonly Time?: string;
}

/**
 * PutEvents takes 1 to 10 entries (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html),
 * each under 256 KB counted as "Calculating PutEvents event entry size"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html): the UTF-8 bytes of
 * Source, DetailType, Detail and Resources, plus 14 bytes for Time.
 */
export function checkPutEvents(entries: readonly PutEventsEntry[]): void {
  if (entries.length < 1 || entries.length > 10) {
    throw new RefusedByAws(`EventBridge: PutEvents takes 1 to 10 entries, got ${entries.length}`);
  }
  for (const [i, entry] of entries.entries()) {
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      throw new RefusedByAws(`EventBridge: entry ${i} needs Source, DetailType and Detail`);
    }
    const detail = typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail);
    const size =
      (entry.Time ? 14 : 0) +
      Buffer.byteLength(entry.Source) +
      Buffer.byteLength(entry.DetailType) +
      Buffer.byteLength(detail) +
      (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);
    if (size >= MAX_PAYLOAD_BYTES) {
      throw new RefusedByAws(`EventBridge: entry ${i} is ${size} bytes; an entry must be under 256 KB`);
    }
  }
}

/** GetQueryResults returns at most 1,000 rows a page, a SELECT's column names as the first
 * (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html, MaxResults). */
const MAX_RESULT_ROWS = 1_000;

/**
 * A SELECT's rows as GetQueryResults gives them (the first page): the column names as the first row,
 * then every value as text in VarCharValue, a null as a datum without one. A state that reads a row by
 * JSONPath (`$.ResultSet.Rows[1].Data[0].VarCharValue`) then fails here where it would fail in AWS.
 */
export function athenaResultSet(rows: readonly QueryRow[]): {
  ResultSet: {
    Rows: { Data: { VarCharValue?: string }[] }[];
    ResultSetMetadata: { ColumnInfo: { Name: string }[] };
  };
  NextToken?: string;
} {
  const columns = Object.keys(rows[0] ?? {});
  const page = rows.slice(0, MAX_RESULT_ROWS - 1);
  return {
    ResultSet: {
      Rows: [
        { Data: columns.map((name) => ({ VarCharValue: name })) },
        ...page.map((row) => ({
          Data: columns.map((name) =>
            row[name] === null || row[name] === undefined ? {} : { VarCharValue: String(row[name]) },
          ),
        })),
      ],
      ResultSetMetadata: { ColumnInfo: columns.map((name) => ({ Name: name })) },
    },
    ...(rows.length > page.length ? { NextToken: 'page-2' } : {}),
  };
}
