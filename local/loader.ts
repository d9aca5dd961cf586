import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { matchHeader, type RequiredColumn, TIMESTAMP_FORMATS } from '../workflow/input-contract';
import { AGENT_EVENTS, REJECTED_ROWS } from '../workflow/tables';
import { type Lake, silverTableDir, sqlLiteral } from './lake';
import { countLines, recordStartLines } from './record-lines';

/** A file the pipeline will not take at all; nothing of it reaches silver or gold. */
export class FileRefusedError extends Error {
  override readonly name = 'FileRefused';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export interface LoadRequest {
  readonly bucket: string;
  readonly key: string;
  readonly runId: string;
}

export interface LoadResult {
  readonly sourceObject: string;
  readonly rowsRead: number;
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
}

const SNIFF_BYTES = 64 * 1024;

/** The loader's scratch tables, dropped before and after each load. */
const DROP_LOAD_TABLES = [
  'load_errors',
  'load_scans',
  'load_rows',
  'load_line_steps',
  'load_record_lines',
  'load_reject_lines',
]
  .map((table) => `drop table if exists ${table};`)
  .join(' ');

/** Stable file-name stem for everything one bronze object wrote, so a re-ingest replaces it. */
export function sourceId(sourceObject: string): string {
  return createHash('sha256').update(sourceObject).digest('hex').slice(0, 16);
}

/** Refuses what is not a UTF-8 CSV with the required header; returns its fields and where the required ones are. */
function readHeader(
  path: string,
  display: string,
): { header: string[]; indexes: Record<RequiredColumn, number> } {
  const size = statSync(path).size;
  if (size === 0) throw new FileRefusedError(display, 'the file is empty');
  const chunk = Buffer.alloc(Math.min(size, SNIFF_BYTES));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, chunk, 0, chunk.length, 0);
  } finally {
    closeSync(fd);
  }
  const nul = chunk.indexOf(0);
  if (nul >= 0) throw new FileRefusedError(display, `not a text file (NUL byte at offset ${nul})`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(chunk, { stream: true });
  } catch {
    throw new FileRefusedError(display, 'not a text file (invalid UTF-8 in the first 64 KiB)');
  }
  const end = text.search(/\r?\n/);
  if (end < 0 && size > SNIFF_BYTES)
    throw new FileRefusedError(display, 'no header line in the first 64 KiB');
  const headerLine = end < 0 ? text : text.slice(0, end);
  let header: string[];
  try {
    header = (parse(headerLine, { bom: true, relax_column_count: true }) as string[][])[0] ?? [];
  } catch (error) {
    throw new FileRefusedError(display, `unreadable header line (${(error as Error).message})`);
  }
  const match = matchHeader(header);
  if (!match.ok) {
    throw new FileRefusedError(
      display,
      `missing required column${match.missing.length > 1 ? 's' : ''} ${match.missing.join(', ')} (header: ${header.join(', ')})`,
    );
  }
  return { header, indexes: match.indexes };
}

/**
 * The first accepted format that parses the text, as is, then trimmed. One try per format (DuckDB
 * stops at the first that matches for each row), cheaper than a list of formats or trimming every value.
 */
const parseDoneOn = (column: string) =>
  `coalesce(${[column, `trim(${column})`]
    .flatMap((text) => TIMESTAMP_FORMATS.map((format) => `try_strptime(${text}, ${sqlLiteral(format)})`))
    .join(', ')})`;

/** Trimmed text, '' for an empty field; trims only the values that need it. */
const trimmed = (column: string) =>
  `case when starts_with(${column}, ' ') or ends_with(${column}, ' ') then trim(${column}) else coalesce(${column}, '') end`;

/** A CSV field as it would be written back: quoted when it must be. */
const CSV_FIELD = (column: string) =>
  `case when ${column} is null then '' when regexp_matches(${column}, '[",\\r\\n]') then '"' || replace(${column}, '"', '""') || '"' else ${column} end`;

async function appendPairs(lake: Lake, table: string, pairs: readonly [number, number][]): Promise<void> {
  const appender = await lake.connection.createAppender(table);
  for (const [first, second] of pairs) {
    appender.appendBigInt(BigInt(first));
    appender.appendBigInt(BigInt(second));
    appender.endRow();
  }
  appender.closeSync();
}

/**
 * Numbers the records: `load_rows` gets the line each accepted record starts on (the returned relation),
 * and `load_reject_lines` maps a line the CSV reader reported for a rejected record to its true line.
 * A file with one line per record (the usual export) is cheap: the record number, shifted past the
 * records the reader rejected, whose reported lines are then exact. Otherwise (quoted line breaks,
 * blank lines) every start line comes from a second parse; if that parse cannot follow the file, the
 * cheap numbering stands.
 */
async function numberRecords(
  lake: Lake,
  path: string,
  physicalLines: number,
  typedRecords: number,
  malformed: number,
): Promise<string> {
  await lake.exec('create table load_reject_lines (reader_line bigint, line bigint)');
  if (physicalLines !== 1 + typedRecords + malformed) {
    const lines = await recordStartLines(path);
    if (lines?.wellFormed.length === typedRecords && lines.wrongFieldCount.length === malformed) {
      const reported = await lake.query('select distinct line from load_errors order by line');
      await lake.exec('create table load_record_lines (record bigint, line bigint)');
      await appendPairs(
        lake,
        'load_record_lines',
        lines.wellFormed.map((line, record) => [record, line]),
      );
      await appendPairs(
        lake,
        'load_reject_lines',
        reported.map((row, index) => [Number(row.line), lines.wrongFieldCount[index] ?? 0]),
      );
      return '(select r.*, l.line as source_line from load_rows as r join load_record_lines as l on l.record = r.rowid)';
    }
  }
  // Each record takes the next line not used by a record the CSV reader rejected.
  await lake.exec(`
    create temp table load_line_steps as
    with rejected_lines as (
      select distinct line from load_errors
    ),
    gaps as (
      select
        line - 2 - (row_number() over (order by line) - 1) as records_before,
        row_number() over (order by line) as rejected_so_far
      from rejected_lines
    )
    select records_before, max(rejected_so_far) as rejected_so_far
    from gaps
    group by records_before`);
  return malformed === 0
    ? '(select *, rowid + 2 as source_line from load_rows)'
    : `(select r.*, r.rowid + 2 + coalesce(s.rejected_so_far, 0) as source_line
        from load_rows as r asof left join load_line_steps as s on r.rowid + 1 > s.records_before)`;
}

/**
 * The local counterpart of the Glue job: bronze CSV -> typed silver Parquet partitioned by event date,
 * with rejected rows kept beside it. Writes to a staging folder, then moves files into place, so a
 * refused file leaves silver as it was.
 */
export async function loadBronzeObject(lake: Lake, request: LoadRequest): Promise<LoadResult> {
  const sourceObject = `${request.bucket}/${request.key}`;
  const path = join(lake.paths.bronze, request.key);
  if (!existsSync(path)) throw new FileRefusedError(sourceObject, 'no such object in bronze');
  const { header, indexes } = readHeader(path, sourceObject);
  const raw = header.map((_, i) => `c${i}`);
  const col = (i: number) => `c${i}`;
  const id = sourceId(sourceObject);
  // Each run's files carry its tag: the object's published version (its latest successful run) stays
  // until a newer run of the object succeeds, since a run that fails must leave it standing.
  const runTag = sourceId(request.runId).slice(0, 8);
  const [published] = await lake.query(
    `select max_by(run_id, started_at) as run_id from pipeline_runs where source_object = ? and status = 'SUCCEEDED'`,
    [sourceObject],
  );
  const keep = new Set([
    runTag,
    ...(published?.run_id ? [sourceId(String(published.run_id)).slice(0, 8)] : []),
  ]);
  // The lake is held by this command alone, so anything staged before is what a killed run left.
  rmSync(lake.paths.staging, { recursive: true, force: true });
  const staging = join(lake.paths.staging, request.runId);
  mkdirSync(staging, { recursive: true });

  try {
    await lake.exec(DROP_LOAD_TABLES);
    // Counted while DuckDB reads the file: tells whether every record takes one line. (An unreadable
    // count just means the slower, exact numbering is tried.)
    const physicalLines = countLines(path).catch(() => Number.NaN);
    // One parallel pass over the file. The table keeps file order, so rowid + 1 is the record number.
    await lake.exec(`
      create temp table load_rows as
      select
        done_on,
        extension,
        action,
        details,
        case
          when done_on is null and extension = '' then 'Done On ' || coalesce('"' || done_on_text || '"', 'empty') || ' is not an accepted timestamp; Extension is empty'
          when done_on is null then 'Done On ' || coalesce('"' || done_on_text || '"', 'empty') || ' is not an accepted timestamp'
          when extension = '' then 'Extension is empty'
        end as reason,
        case when done_on is null or extension = '' then ${raw.map((c) => CSV_FIELD(c)).join(" || ',' || ")} end as raw_line
      from (
        select
          ${parseDoneOn(col(indexes.done_on))} as done_on,
          ${trimmed(col(indexes.extension))} as extension,
          ${trimmed(col(indexes.action))} as action,
          ${trimmed(col(indexes.details))} as details,
          ${col(indexes.done_on)} as done_on_text,
          ${raw.join(', ')}
        from read_csv(${sqlLiteral(path)},
          delim = ',', quote = '"', escape = '"', header = true, auto_detect = false, strict_mode = true,
          columns = {${raw.map((c) => `'${c}': 'varchar'`).join(', ')}},
          store_rejects = true, rejects_table = 'load_errors', rejects_scan = 'load_scans')
      ) as typed`);

    const [counts] = await lake.query(`
      select
        count(*) filter (where reason is null) as loaded,
        count(*) filter (where reason is not null) as invalid,
        (select count(distinct line) from load_errors) as malformed
      from load_rows`);
    const loaded = Number(counts?.loaded ?? 0);
    const invalid = Number(counts?.invalid ?? 0);
    const malformed = Number(counts?.malformed ?? 0);
    const rejected = invalid + malformed;
    const rows = await numberRecords(lake, path, await physicalLines, loaded + invalid, malformed);

    const rejectsQuery = `
      with malformed as (
        select
          coalesce(max(lines.line), errors.line) as source_line,
          arg_min(errors.error_type, errors.column_idx) as error_type,
          arg_min(errors.error_message, errors.column_idx) as error_message,
          arg_min(errors.csv_line, errors.column_idx) as raw_line
        from load_errors as errors
        left join load_reject_lines as lines on lines.reader_line = errors.line
        group by errors.line
      )
      select ${sqlLiteral(sourceObject)} as source_object, r.source_line, r.reason, r.raw_line, ${sqlLiteral(request.runId)} as run_id
      from ${rows} as r
      where r.reason is not null
      union all
      select ${sqlLiteral(sourceObject)}, source_line,
        case
          when error_type in ('TOO MANY COLUMNS', 'MISSING COLUMNS') then regexp_replace(
            error_message, '^.*Expected Number of Columns: (\\d+) Found: (\\d+).*$', 'wrong number of fields: expected \\1, got \\2')
          else lower(error_type) || ': ' || error_message
        end,
        raw_line,
        ${sqlLiteral(request.runId)}
      from malformed
      order by source_line`;

    if (loaded === 0) {
      const [first] = await lake.query(`select source_line, reason from (${rejectsQuery}) limit 1`);
      const detail = first ? `; line ${first.source_line}: ${first.reason}` : '';
      throw new FileRefusedError(sourceObject, `no valid row (${rejected} rejected${detail})`);
    }

    const eventsStaging = join(staging, AGENT_EVENTS.name);
    await lake.exec(`
      copy (
        select r.done_on, r.extension, r.action, r.details,
          ${sqlLiteral(sourceObject)} as source_object, r.source_line, ${sqlLiteral(request.runId)} as run_id,
          cast(r.done_on as date) as event_date
        from ${rows} as r
        where r.reason is null
      ) to ${sqlLiteral(eventsStaging)} (format parquet, partition_by (event_date), filename_pattern '${id}_${runTag}_{i}')`);
    const rejectsStaging = join(staging, REJECTED_ROWS.name);
    if (rejected > 0) {
      mkdirSync(rejectsStaging, { recursive: true });
      await lake.exec(
        `copy (${rejectsQuery}) to ${sqlLiteral(join(rejectsStaging, `${id}_${runTag}.parquet`))} (format parquet)`,
      );
    }

    promote(eventsStaging, silverTableDir(lake.paths, AGENT_EVENTS), id, keep);
    promote(rejectsStaging, silverTableDir(lake.paths, REJECTED_ROWS), id, keep);
    await lake.refreshSilver();
    return { sourceObject, rowsRead: loaded + rejected, rowsLoaded: loaded, rowsRejected: rejected };
  } finally {
    await lake.exec(DROP_LOAD_TABLES);
    rmSync(staging, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.parquet'));
}

/**
 * Moves a staged object's files into the table directory (each rename is atomic), then removes the
 * files of the same object's other runs, except those of the runs in `keep` (this one, the published one).
 */
function promote(stagingDir: string, tableDir: string, id: string, keep: ReadonlySet<string>): void {
  const staged = new Set(listFiles(stagingDir));
  for (const name of staged) {
    const target = join(tableDir, name);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(stagingDir, name), target);
  }
  for (const name of listFiles(tableDir)) {
    const file = basename(name);
    if (
      file.startsWith(`${id}_`) &&
      !staged.has(name) &&
      !keep.has(file.slice(id.length + 1, id.length + 9))
    ) {
      rmSync(join(tableDir, name));
    }
  }
}
