import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
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
import {
  ACCEPTED_DONE_ON,
  latestAcceptedDay,
  matchHeader,
  RECORD_LIMITS,
  type RequiredColumn,
  TIMESTAMP_FORMATS,
  WHITESPACE,
} from '../workflow/input-contract';
import { AGENT_EVENTS, EVENT_EXTENTS, LOADED_DAYS, REJECTED_ROWS } from '../workflow/tables';
import { globLiteral, type Lake, silverTableDir, sqlLiteral, writeDaySummaries } from './lake';
import { cutText, measureLines, splitRecords } from './record-lines';

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
const DROP_LOAD_TABLES = ['load_errors', 'load_scans', 'load_rows', 'load_split']
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
  if (headerLine.includes('\r'))
    throw new FileRefusedError(
      display,
      'lines end with a bare carriage return (CR); save the file with LF or CRLF line ends',
    );
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

/** A field that starts or ends with one of the contract's whitespace characters (an RE2 pattern). */
const WHITESPACE_AT_AN_END = (() => {
  const set = `[${[...WHITESPACE].map((c) => `\\x{${(c.codePointAt(0) ?? 0).toString(16)}}`).join('')}]`;
  return sqlLiteral(`^${set}|${set}$`);
})();

/**
 * Which whitespace a field may start or end with: any of the contract's, or only the space (a file
 * measureLines found holding no other whitespace character, and every record on one line).
 */
type EdgeWhitespace = 'any' | 'space';

/**
 * A field with every Unicode whitespace character trimmed from both ends, '' for none. DuckDB's trim
 * with a set of 25 characters is slow (24.9 s for the four fields of 5M rows, 2.2 s for a plain trim),
 * so it runs only on a field that starts or ends with one of them: the result is the same. For any of
 * them the test is one regular expression (0.14 s of CPU for three fields of 1M rows; `contains` on the
 * first and last character took 0.22 s, and sent every empty field through the trim, as `left('', 1)`
 * is ''). For the space alone it is two LIKEs, a comparison of the first and of the last byte: 0.13
 * against 0.48 s for three fields of 5M rows, side by side on 2 threads.
 */
const trimmed = (column: string, edges: EdgeWhitespace) => {
  const test =
    edges === 'any'
      ? `regexp_matches(${column}, ${WHITESPACE_AT_AN_END})`
      : `(${column} like ' %' or ${column} like '% ')`;
  return `case when ${test} then trim(${column}, ${sqlLiteral(WHITESPACE)}) else coalesce(${column}, '') end`;
};

/** A year of four digits: strptime's %Y also takes `24` (year 24); the contract never guesses a century. */
const FOUR_DIGIT_YEAR = "'(^|[^0-9])[0-9]{4}([^0-9]|$)'";

/**
 * Types the records of `relation` (columns source_line, malformed, raw_line, c0..cN): trimmed fields,
 * `Done On` parsed by the first accepted format and checked against the accepted range, and the
 * reason a record is rejected (null when it loads).
 */
function typedSelect(relation: string, indexes: Record<RequiredColumn, number>, runDay: Date): string {
  const earliest = ACCEPTED_DONE_ON.earliest;
  const latest = latestAcceptedDay(runDay);
  const formats = TIMESTAMP_FORMATS.map((format) => `try_strptime(done_on_text, ${sqlLiteral(format)})`);
  return `
    select
      done_on, extension, action, details, source_line, raw_line,
      coalesce(malformed, nullif(concat_ws('; ',
        case
          when done_on is null then 'Done On ' || case when done_on_text = '' then 'empty' else '"' || done_on_text || '"' end || ' is not an accepted timestamp'
          when done_on < date '${earliest}' or done_on >= date '${latest}' + interval 1 day
            then 'Done On "' || done_on_text || '" is outside the accepted range, ${earliest} to ${latest}'
        end,
        case when extension = '' then 'Extension is empty' end), '')) as reason
    from (
      select *,
        case
          when year(parsed) between 1000 and 9999 then parsed
          when year(parsed) < 1000 and regexp_matches(done_on_text, ${FOUR_DIGIT_YEAR}) then parsed
        end as done_on
      from (
        select *, coalesce(${formats.join(', ')}) as parsed
        from (
          select
            source_line, malformed, raw_line,
            ${trimmed(`c${indexes.done_on}`, 'any')} as done_on_text,
            ${trimmed(`c${indexes.extension}`, 'any')} as extension,
            ${trimmed(`c${indexes.action}`, 'any')} as action,
            ${trimmed(`c${indexes.details}`, 'any')} as details
          from ${relation}
        )
      )
    )`;
}

/** The export's own `Done On` format, the contract's first: nearly every row of a real file has it. */
const COMMON_FORMAT = TIMESTAMP_FORMATS[0] as string;

/**
 * The fast path's typing of the records of `relation` (columns c0..cN, straight from the CSV reader):
 * the typed fields and whether the record is accepted. It gives every accepted record the value
 * typedSelect gives it, and refuses the same ones, with less work per row: `Done On` is first parsed
 * as it stands with the common format, and only a field that fails (or reads as a year outside
 * 1000-9999) is trimmed and tried with every accepted format, as typedSelect does. That is the same
 * value: strptime skips ASCII whitespace around a value, the only whitespace a parse that succeeds can
 * have around it, so the trimmed field parses to the same instant. No reason is worded here: a file
 * with a rejected record is read again by the splitter, which words the reasons.
 */
function fastTypedSelect(
  relation: string,
  indexes: Record<RequiredColumn, number>,
  runDay: Date,
  edges: EdgeWhitespace,
): string {
  const earliest = ACCEPTED_DONE_ON.earliest;
  const latest = latestAcceptedDay(runDay);
  const formats = TIMESTAMP_FORMATS.map((format) => `try_strptime(done_on_text, ${sqlLiteral(format)})`);
  return `
    select done_on, extension, action, details,
      done_on >= date '${earliest}' and done_on < date '${latest}' + interval 1 day and extension <> '' as accepted
    from (
      select *,
        coalesce(common, case
          when year(parsed) between 1000 and 9999 then parsed
          when year(parsed) < 1000 and regexp_matches(done_on_text, ${FOUR_DIGIT_YEAR}) then parsed
        end) as done_on
      from (
        select *, case when common is null then coalesce(${formats.join(', ')}) end as parsed
        from (
          select *, case when common is null then ${trimmed('done_on_raw', edges)} end as done_on_text
          from (
            select
              case when year(first_try) between 1000 and 9999 then first_try end as common,
              done_on_raw, extension, action, details
            from (
              select
                try_strptime(c${indexes.done_on}, ${sqlLiteral(COMMON_FORMAT)}) as first_try,
                c${indexes.done_on} as done_on_raw,
                ${trimmed(`c${indexes.extension}`, edges)} as extension,
                ${trimmed(`c${indexes.action}`, edges)} as action,
                ${trimmed(`c${indexes.details}`, edges)} as details
              from ${relation}
            )
          )
        )
      )
    )`;
}

/**
 * A reason quotes the value it refused (only `Done On` reasons quote one), which may be as long as a
 * record: that value is cut as raw_line is, at the contract's raw-text limit, and the words around it
 * stay, so the reason still says what was wrong and groups with its kind. The Glue job cuts the same.
 * Only the splitter's path has rejected rows.
 */
async function cutLongReasons(lake: Lake): Promise<void> {
  const limit = RECORD_LIMITS.maxRawTextBytes;
  const long = await lake.query('select source_line, reason from load_rows where strlen(reason) > ?', [
    limit,
  ]);
  for (const row of long) {
    const reason = String(row.reason);
    const open = reason.indexOf('"');
    const close = reason.lastIndexOf('"');
    const cut =
      open < close
        ? `${reason.slice(0, open + 1)}${cutText(reason.slice(open + 1, close), limit)}${reason.slice(close)}`
        : cutText(reason, limit);
    await lake.query('update load_rows set reason = ? where source_line = ?', [cut, Number(row.source_line)]);
  }
}

/**
 * Reads the file with the JavaScript splitter (record-lines.ts, the Glue job's rule) into
 * `load_split`: exact physical line numbers, raw text as written, a reason for each malformed record.
 */
async function splitIntoTable(lake: Lake, path: string, width: number): Promise<void> {
  const raw = Array.from({ length: width }, (_, i) => `c${i} varchar`);
  await lake.exec(
    `create temp table load_split (source_line bigint, malformed varchar, raw_line varchar, ${raw.join(', ')})`,
  );
  const appender = await lake.connection.createAppender('load_split');
  for await (const record of splitRecords(path, width, RECORD_LIMITS)) {
    appender.appendBigInt(BigInt(record.line));
    if (record.reason === undefined) appender.appendNull();
    else appender.appendVarchar(record.reason);
    appender.appendVarchar(record.raw);
    for (let i = 0; i < width; i++) {
      const value = record.fields?.[i];
      if (value === undefined) appender.appendNull();
      else appender.appendVarchar(value);
    }
    appender.endRow();
  }
  appender.closeSync();
}

/**
 * Types the file into `load_rows` and returns the relation of its records with their line numbers.
 * First DuckDB's parallel CSV reader; its result stands only when the file is plain (every record on
 * one line of at most maxRecordBytes, no blank line, RFC 4180 quoting, nothing rejected), so that
 * line = record number + 1 and DuckDB's fields are the splitter's. It types fields as if a space were
 * the only whitespace at their ends, and types them again in the rare file that holds another
 * whitespace character (measured while DuckDB reads the file, so that is known only after).
 * Anything else is read again by the splitter, which numbers physical lines exactly, keeps the raw
 * text and limits what a stray quote or an over-long record can cost.
 */
async function typeRecords(
  lake: Lake,
  path: string,
  header: readonly string[],
  indexes: Record<RequiredColumn, number>,
  runDay: Date,
): Promise<string> {
  const raw = header.map((_, i) => `c${i}`);
  const typeFast = (edges: EdgeWhitespace) =>
    lake.exec(`
      create temp table load_rows as
      ${fastTypedSelect(
        `read_csv(${sqlLiteral(globLiteral(path))},
            delim = ',', quote = '"', escape = '"', header = true, auto_detect = false, strict_mode = true,
            columns = {${raw.map((c) => `'${c}': 'varchar'`).join(', ')}},
            store_rejects = true, rejects_table = 'load_errors', rejects_scan = 'load_scans')`,
        indexes,
        runDay,
        edges,
      )}`);
  // Measured while DuckDB reads the file. (An unreadable file just means the splitter reads it.)
  const measured = measureLines(path).catch(() => undefined);
  try {
    await typeFast('space');
    const lines = await measured;
    if (lines?.otherWhitespace) {
      await lake.exec(DROP_LOAD_TABLES);
      await typeFast('any');
    }
    const [counts] = await lake.query(`
      select count(*) as records, count(*) filter (where accepted is not true) as rejected,
        (select count(*) from load_errors) as errors
      from load_rows`);
    if (
      lines &&
      !lines.irregularQuotes &&
      lines.longest <= RECORD_LIMITS.maxRecordBytes &&
      Number(counts?.errors) === 0 &&
      Number(counts?.rejected) === 0 &&
      lines.lines === 1 + Number(counts?.records)
    ) {
      return `(select done_on, extension, action, details, rowid + 2 as source_line,
        null::varchar as raw_line, null::varchar as reason from load_rows)`;
    }
  } catch {
    // DuckDB's reader refused the file (mixed line ends, a line past its maximum): the splitter reads it.
    await measured;
  }
  await lake.exec(DROP_LOAD_TABLES);
  await splitIntoTable(lake, path, header.length);
  await lake.exec(`create temp table load_rows as ${typedSelect('load_split', indexes, runDay)}`);
  await cutLongReasons(lake);
  return 'load_rows';
}

/**
 * A column holding one string on every row, as a one-value ENUM: a partitioned COPY then carries a
 * byte per row instead of a copy of the string, and the Parquet writer writes its dictionary without
 * hashing every row (at 1M rows, 0.95 -> 0.7 s of CPU for the silver write). The file is the same for
 * a reader: a UTF8 BYTE_ARRAY column, dictionary-encoded, with the same statistics, read back as VARCHAR.
 */
const constantColumn = (value: string) => `${sqlLiteral(value)}::enum(${sqlLiteral(value)})`;

/** The bronze object under a name of the loader's own, so that no character of its key is read as a pattern. */
function stageInput(path: string, staging: string): string {
  const input = join(staging, 'object.csv');
  try {
    linkSync(path, input);
  } catch {
    copyFileSync(path, input);
  }
  return input;
}

/**
 * The local counterpart of the Glue job: bronze CSV -> typed silver Parquet partitioned by event date,
 * with rejected rows kept beside it. Writes to a staging folder, then moves files into place, so a
 * refused file leaves silver as it was. `runDay` (UTC) bounds the accepted `Done On` dates.
 */
export async function loadBronzeObject(
  lake: Lake,
  request: LoadRequest,
  runDay: Date = new Date(),
): Promise<LoadResult> {
  const sourceObject = `${request.bucket}/${request.key}`;
  const path = join(lake.paths.bronze, request.key);
  if (!existsSync(path)) throw new FileRefusedError(sourceObject, 'no such object in bronze');
  const { header, indexes } = readHeader(path, sourceObject);
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
    const rows = await typeRecords(lake, stageInput(path, staging), header, indexes, runDay);
    const [counts] = await lake.query(`
      select count(*) filter (where reason is null) as loaded, count(*) filter (where reason is not null) as rejected
      from ${rows}`);
    const loaded = Number(counts?.loaded ?? 0);
    const rejected = Number(counts?.rejected ?? 0);
    const rejectsQuery = `
      select ${sqlLiteral(sourceObject)} as source_object, source_line, reason, raw_line,
        ${sqlLiteral(request.runId)} as run_id
      from ${rows}
      where reason is not null
      order by source_line`;

    if (loaded === 0) {
      const [first] = await lake.query(`select source_line, reason from (${rejectsQuery}) limit 1`);
      const detail = first ? `; line ${first.source_line}: ${first.reason}` : '';
      throw new FileRefusedError(sourceObject, `no valid row (${rejected} rejected${detail})`);
    }

    const eventsStaging = join(staging, AGENT_EVENTS.name);
    // On all of DuckDB's threads: measured side by side on 2 cores (three runs each), one thread took
    // 1.26 to 1.31 s for 5M events against 0.73 to 0.76 s for two, and 65 to 74 ms against 54 to 58 ms
    // for 200k. Each day still gets one file; the order of rows inside it may differ between loads.
    await lake.exec(`
      copy (
        select r.done_on, r.extension, r.action, r.details,
          ${constantColumn(sourceObject)} as source_object, r.source_line, ${constantColumn(request.runId)} as run_id,
          cast(r.done_on as date) as event_date
        from ${rows} as r
        where r.reason is null
      ) to ${sqlLiteral(eventsStaging)} (format parquet, partition_by (event_date), filename_pattern '${id}_${runTag}_{i}')`);
    const extentsStaging = join(staging, EVENT_EXTENTS.name);
    const daysStaging = join(staging, LOADED_DAYS.name);
    await writeDaySummaries(lake, eventsStaging, extentsStaging, daysStaging, `${id}_${runTag}`);
    const rejectsStaging = join(staging, REJECTED_ROWS.name);
    if (rejected > 0) {
      mkdirSync(rejectsStaging, { recursive: true });
      await lake.exec(
        `copy (${rejectsQuery}) to ${sqlLiteral(join(rejectsStaging, `${id}_${runTag}.parquet`))} (format parquet)`,
      );
    }

    promote(eventsStaging, silverTableDir(lake.paths, AGENT_EVENTS), id, keep);
    promote(rejectsStaging, silverTableDir(lake.paths, REJECTED_ROWS), id, keep);
    promote(extentsStaging, silverTableDir(lake.paths, EVENT_EXTENTS), id, keep);
    promote(daysStaging, silverTableDir(lake.paths, LOADED_DAYS), id, keep);
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
