import { DuckDBInstance } from '@duckdb/node-api';
import { TIMESTAMP_FORMATS } from '../workflow/input-contract';

/**
 * The benchmark's contenders written as plain DuckDB SQL, outside the pipeline. They read the
 * generator's CSV shape (`Done On,Extension,Action,Details`, in that order), which is all the bench feeds them.
 */

const q = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The format the contact center exports (and the generator writes); the other accepted ones are tried only when it fails. */
const COMMON_FORMAT = '%m/%d/%Y %I:%M:%S %p';

const HALF_HOUR_MS = 1_800_000;

function csvSource(files: readonly string[], doneOnType: 'varchar' | 'timestamp'): string {
  return `read_csv([${files.map(q).join(', ')}], delim = ',', quote = '"', escape = '"', header = true,
    auto_detect = false,${doneOnType === 'timestamp' ? ` timestampformat = ${q(COMMON_FORMAT)},` : ''}
    columns = {'done_on': '${doneOnType}', 'extension': 'varchar', 'action': 'varchar', 'details': 'varchar'})`;
}

async function runOnce(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { preserve_insertion_order: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run("set TimeZone = 'UTC'");
    await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The typed-copy floor: the CSV read with every column typed, written to one Parquet file. Nothing else. */
export function typedCopySql(files: readonly string[], out: string): string {
  return `copy (select * from ${csvSource(files, 'timestamp')}) to ${q(out)} (format parquet)`;
}

/**
 * One plain, correct query from CSV to the interval table (docs/architecture.md, "The productive-time
 * rule"), written independently of sql/pipeline: every distinct event opens a state that lasts until the
 * extension's next event (same instant: ordered by action, then details), the last one to the end of its
 * own interval; productive states (ONLINE, REMVCEON, OFFLINE + Backoffice) are cut at every :00 and :30;
 * milliseconds are summed per (extension, interval) and capped at 30 minutes; each event is counted in
 * its own interval. Rows the pipeline would reject (no accepted timestamp, empty extension) are left out.
 * Times are worked in epoch milliseconds and intervals as whole half-hours since the epoch.
 */
export function singleQuerySql(files: readonly string[], out: string): string {
  const others = `[${TIMESTAMP_FORMATS.map(q).join(', ')}]`;
  return `copy (
  with typed as (
    select
      coalesce(try_strptime(done_on, ${q(COMMON_FORMAT)}), try_strptime(trim(done_on), ${others})) as done_on,
      trim(extension) as extension,
      upper(trim(coalesce(action, ''))) as action,
      upper(trim(coalesce(details, ''))) as details
    from ${csvSource(files, 'varchar')}
  ),
  events as (
    select distinct extension, done_on, action, details
    from typed
    where done_on is not null and coalesce(extension, '') <> ''
  ),
  states as (
    -- times as epoch milliseconds and intervals as whole numbers of 30 minutes: integer work throughout
    select
      extension,
      epoch_ms(done_on) as t0,
      coalesce(
        lead(epoch_ms(done_on)) over (partition by extension order by done_on, action, details),
        (epoch_ms(done_on) // ${HALF_HOUR_MS} + 1) * ${HALF_HOUR_MS}
      ) as t1,
      action in ('ONLINE', 'REMVCEON') or (action = 'OFFLINE' and details = 'BACKOFFICE') as productive
    from events
  ),
  slots as (
    -- one row per half-hour a state touches (a select-list unnest: no lateral join to decorrelate)
    select
      extension,
      t0,
      t1,
      productive,
      unnest(range(
        t0 // ${HALF_HOUR_MS},
        case when productive and t1 > t0 then (t1 - 1) // ${HALF_HOUR_MS} else t0 // ${HALF_HOUR_MS} end + 1
      )) as slot
    from states
  ),
  pieces as (
    select
      extension,
      slot,
      case
        when productive then least(t1, (slot + 1) * ${HALF_HOUR_MS}) - greatest(t0, slot * ${HALF_HOUR_MS})
        else 0
      end as ms,
      case when slot = t0 // ${HALF_HOUR_MS} then 1 else 0 end as opened
    from slots
  ),
  totals as (
    select extension, slot, least(sum(ms), ${HALF_HOUR_MS}) as productive_ms, sum(opened) as event_count
    from pieces
    group by extension, slot
  )
  select
    extension,
    make_timestamp(slot * ${HALF_HOUR_MS} * 1000) as interval_start,
    cast(productive_ms as bigint) as productive_ms,
    cast(productive_ms as double) / 1000 as productive_seconds,
    least(cast(productive_ms as double) / 3600000, 0.5) as productive_hours,
    cast(event_count as bigint) as event_count
  from totals
) to ${q(out)} (format parquet)`;
}

export const runTypedCopy = (files: readonly string[], out: string) => runOnce(typedCopySql(files, out));
export const runSingleQuery = (files: readonly string[], out: string) => runOnce(singleQuerySql(files, out));

export interface Agreement {
  /** Rows of the pipeline's agent_intervals. */
  readonly pipelineRows: number;
  /** Rows of the contender's Parquet file. */
  readonly contenderRows: number;
  /** Rows in one and not in the other (all six columns compared), a few of each shown. */
  readonly onlyInPipeline: readonly string[];
  readonly onlyInContender: readonly string[];
}

const COLUMNS = 'extension, interval_start, productive_ms, productive_seconds, productive_hours, event_count';

/**
 * Compares the pipeline's agent_intervals (in a lake's warehouse file, opened read-only) with the
 * contender's Parquet output, row for row on every column.
 */
export async function compareWithPipeline(warehouse: string, contenderParquet: string): Promise<Agreement> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("set TimeZone = 'UTC'");
    await connection.run(`attach ${q(warehouse)} as lake (read_only)`);
    const pipeline = `select ${COLUMNS} from lake.agent_intervals`;
    const contender = `select ${COLUMNS} from read_parquet(${q(contenderParquet)})`;
    const sample = async (left: string, right: string) => {
      const reader = await connection.runAndReadAll(
        `select concat_ws(',', ${COLUMNS}) as row from (${left} except all ${right}) order by all limit 5`,
      );
      return reader.getRowObjectsJson().map((r) => String(r.row));
    };
    const counts = await connection.runAndReadAll(
      `select (select count(*) from (${pipeline})) as p, (select count(*) from (${contender})) as c`,
    );
    const [row] = counts.getRowObjectsJson();
    return {
      pipelineRows: Number(row?.p),
      contenderRows: Number(row?.c),
      onlyInPipeline: await sample(pipeline, contender),
      onlyInContender: await sample(contender, pipeline),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Throws, naming the first differing rows, unless the contender and the pipeline hold the same intervals. */
export function assertAgreement(agreement: Agreement, what: string): void {
  const { pipelineRows, contenderRows, onlyInPipeline, onlyInContender } = agreement;
  if (pipelineRows === contenderRows && onlyInPipeline.length === 0 && onlyInContender.length === 0) return;
  throw new Error(
    `${what}: the single query and the pipeline disagree (${pipelineRows} pipeline rows, ${contenderRows} single-query rows; ` +
      `only in the pipeline: ${onlyInPipeline.join(' | ') || 'none'}; only in the single query: ${onlyInContender.join(' | ') || 'none'})`,
  );
}
