import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { QueryEngine, QueryRow, QueryValue } from '../ports';

export interface AthenaQueryEngineOptions {
  readonly workGroup: string;
  readonly database: string;
  /** First wait between status polls; doubles up to `maxPollMs`. */
  readonly firstPollMs?: number;
  readonly maxPollMs?: number;
  /** A query still running after this long is stopped and reported as an error. */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const NUMERIC_TYPES = new Set([
  'tinyint',
  'smallint',
  'integer',
  'int',
  'bigint',
  'double',
  'real',
  'float',
  'decimal',
]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** ExecutionParameters are SQL literals: strings quoted with quotes doubled, numbers as written. */
export function executionParameter(value: QueryValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot pass ${value} to Athena`);
    return String(value);
  }
  return `'${value.replaceAll("'", "''")}'`;
}

/** Runs `sql/` statements on Athena: start with ExecutionParameters, poll with backoff, read every page. */
export class AthenaQueryEngine implements QueryEngine {
  constructor(
    private readonly client: AthenaClient,
    private readonly options: AthenaQueryEngineOptions,
  ) {}

  async query(sql: string, parameters: readonly QueryValue[] = []): Promise<QueryRow[]> {
    const started = await this.client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: this.options.workGroup,
        QueryExecutionContext: { Database: this.options.database },
        ExecutionParameters: parameters.length > 0 ? parameters.map(executionParameter) : undefined,
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new Error('Athena StartQueryExecution returned no QueryExecutionId');
    await this.waitForSuccess(id);
    return this.readResults(id);
  }

  private async waitForSuccess(id: string): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    const timeoutMs = this.options.timeoutMs ?? 300_000;
    let delay = this.options.firstPollMs ?? 200;
    let waited = 0;
    for (;;) {
      const { QueryExecution } = await this.client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      const status = QueryExecution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? 'no reason given';
        throw new Error(`Athena query ${id} ${state}: ${reason}`);
      }
      if (waited >= timeoutMs) {
        await this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
        throw new Error(`Athena query ${id} still ${state ?? 'unknown'} after ${timeoutMs} ms; stopped`);
      }
      await sleep(delay);
      waited += delay;
      delay = Math.min(delay * 2, this.options.maxPollMs ?? 5_000);
    }
  }

  private async readResults(id: string): Promise<QueryRow[]> {
    const rows: QueryRow[] = [];
    let nextToken: string | undefined;
    let firstPage = true;
    do {
      const page: GetQueryResultsCommandOutput = await this.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: nextToken }),
      );
      const columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // The first row of the first page repeats the column names.
      for (const row of firstPage ? data.slice(1) : data) {
        const record: QueryRow = {};
        columns.forEach((column, index) => {
          const text = row.Data?.[index]?.VarCharValue;
          const name = column.Name ?? `_col${index}`;
          record[name] =
            text === undefined
              ? null
              : NUMERIC_TYPES.has((column.Type ?? '').toLowerCase())
                ? Number(text)
                : text;
        });
        rows.push(record);
      }
      firstPage = false;
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  }
}
