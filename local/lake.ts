import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { QueryEngine, QueryRow, QueryValue } from '../handlers/ports';
import { readSql, SETUP_FILES } from '../workflow/steps';
import {
  AGENT_EVENTS,
  type ColumnType,
  EVENT_EXTENTS,
  KNOWN_EXTENSIONS,
  LOADED_DAYS,
  MANAGED_TABLES,
  PIPELINE_RUNS,
  SILVER_TABLES,
  type TableDefinition,
} from '../workflow/tables';

const DUCKDB_TYPES: Record<ColumnType, string> = {
  string: 'varchar',
  bigint: 'bigint',
  double: 'double',
  timestamp: 'timestamp',
  date: 'date',
  boolean: 'boolean',
};

/** Where everything of a local lake lives, below one directory. */
export interface LakePaths {
  readonly root: string;
  readonly bronze: string;
  readonly silver: string;
  readonly staging: string;
  readonly warehouse: string;
  readonly outbox: string;
}

export function lakePaths(root: string): LakePaths {
  const abs = resolve(root);
  return {
    root: abs,
    bronze: join(abs, 'bronze'),
    silver: join(abs, 'silver'),
    staging: join(abs, 'silver', '_staging'),
    warehouse: join(abs, 'warehouse.duckdb'),
    outbox: join(abs, 'outbox'),
  };
}

export function silverTableDir(paths: LakePaths, table: TableDefinition): string {
  return join(paths.silver, table.name);
}

/** A DuckDB string literal; used only for paths and names the program itself builds. */
export function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A path as a DuckDB file function reads it literally. read_parquet and read_csv take every file
 * argument as a glob, even one without `*`: `lake[1]/x.parquet` matches `lake1/x.parquet`. Each glob
 * character is put in a one-character class (`[[]`), which DuckDB's matcher reads as itself.
 */
export function globLiteral(path: string): string {
  return path.replace(/[*?[\]{}]/g, (c) => `[${c}]`);
}

function columnList(table: TableDefinition): string {
  return [...table.columns, ...table.partitionKeys]
    .map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`)
    .join(', ');
}

function emptySelect(table: TableDefinition): string {
  const columns = [...table.columns, ...table.partitionKeys].map(
    (c) => `cast(null as ${DUCKDB_TYPES[c.type]}) as ${c.name}`,
  );
  return `select ${columns.join(', ')} where false`;
}

function parquetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.parquet'));
}

const partitioned = (glob: string) =>
  `read_parquet(${sqlLiteral(glob)}, hive_partitioning = true, hive_types = {'event_date': date})`;

/**
 * Writes the two small summaries of a run's events (event_extents, partitioned by event_date like the
 * events, and loaded_days, one file) from the event files below `eventsDir`, named after `stem`
 * (`<source id>_<run tag>`) as the events are, so that they are kept and replaced with them.
 */
export async function writeDaySummaries(
  lake: Lake,
  eventsDir: string,
  extentsDir: string,
  daysDir: string,
  stem: string,
): Promise<void> {
  await lake.exec(`
    copy (
      select extension, min(done_on) as first_event, max(done_on) as last_event, count(*) as event_count,
        source_object, run_id, event_date
      from ${partitioned(join(globLiteral(eventsDir), '**', `${stem}_*.parquet`))}
      group by source_object, run_id, extension, event_date
      order by event_date, extension
    ) to ${sqlLiteral(extentsDir)} (format parquet, partition_by (event_date), filename_pattern '${stem}_{i}', overwrite_or_ignore true)`);
  mkdirSync(daysDir, { recursive: true });
  await lake.exec(`
    copy (
      select event_date, min(first_event) as first_event, max(last_event) as last_event,
        sum(event_count)::bigint as event_count, source_object, run_id
      from ${partitioned(join(globLiteral(extentsDir), '**', `${stem}_*.parquet`))}
      group by source_object, run_id, event_date
      order by event_date
    ) to ${sqlLiteral(join(daysDir, `${stem}.parquet`))} (format parquet)`);
}

/**
 * DuckDB's memory limit unless AGENT_ETL_MEMORY_LIMIT says otherwise; past it DuckDB spills to disk
 * beside the warehouse file. Keeps a 10M-event run under 2 GiB of resident memory.
 */
export const DEFAULT_MEMORY_LIMIT = '1GB';

/**
 * The local lake: silver Parquet files as views, gold/ops/staging tables in one DuckDB file.
 * It answers the same SQL text that Athena runs in AWS (after the prelude of macros).
 */
export class Lake implements QueryEngine {
  private constructor(
    readonly paths: LakePaths,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  /**
   * Opens the lake at `root`. With `readOnly`, nothing on disk is written (a read-only lake, or one
   * whose files belong to someone else, can be exported): DuckDB opens the file read-only, replaying
   * any write-ahead log in memory. The macros and views are session-local (temp) objects either way.
   */
  static async open(root: string, options: { readOnly?: boolean } = {}): Promise<Lake> {
    const paths = lakePaths(root);
    if (paths.warehouse.includes('?')) {
      // DuckDB reads what follows a `?` in a database path as options: its write-ahead log would land
      // in another folder (`lake.wal?/...`), so such a lake could never commit.
      throw new Error(
        `lake ${paths.root}: a path holding '?' cannot hold a DuckDB database; choose another folder`,
      );
    }
    const readOnly = options.readOnly === true;
    if (!readOnly) {
      for (const dir of [paths.root, paths.bronze, paths.silver, paths.outbox])
        mkdirSync(dir, { recursive: true });
    }
    const instance = await DuckDBInstance.create(paths.warehouse, {
      preserve_insertion_order: 'true',
      memory_limit: process.env.AGENT_ETL_MEMORY_LIMIT ?? DEFAULT_MEMORY_LIMIT,
      ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
    });
    const connection = await instance.connect();
    const lake = new Lake(paths, instance, connection);
    // The prelude's macros and the views live in the connection, made again at each open: with a view
    // kept in the database file, DuckDB's first write after opening it took 0.11 s at 90 daily runs
    // (0.003 s without, measured on the bench's lake), on every run.
    const definitions = (sql: string) => sql.replaceAll(/create or replace /gi, '$&temp ');
    if (!readOnly) await lake.dropStoredDefinitions();
    await lake.exec("set TimeZone = 'UTC'");
    await lake.exec(definitions(readFileSync(join(__dirname, '..', 'local', 'prelude.sql'), 'utf8')));
    const [known] = await lake.query(
      `select count(*) as n from information_schema.tables where table_name = '${KNOWN_EXTENSIONS.name}'`,
    );
    const [flagged] = await lake.query(
      `select count(*) as n from information_schema.columns
       where table_name = '${PIPELINE_RUNS.name}' and column_name = 'published'`,
    );
    if (!readOnly) {
      for (const table of MANAGED_TABLES) {
        await lake.exec(`create table if not exists ${table.name} (${columnList(table)})`);
        // A lake made by an earlier version gains the columns added since (as a Glue table update would).
        for (const c of table.columns) {
          await lake.exec(
            `alter table ${table.name} add column if not exists ${c.name} ${DUCKDB_TYPES[c.type]}`,
          );
        }
      }
    }
    // A lake made before pipeline_runs had `published` (the column was just added): each object's latest
    // successful run is its published one (a killed run still RUNNING replaced nothing; the next command
    // closes it). Once, not on every open.
    if (!readOnly && Number(flagged?.n) === 0) {
      await lake.exec(
        `update ${PIPELINE_RUNS.name} set published = coalesce(run_id in (
           select max_by(run_id, started_at) from ${PIPELINE_RUNS.name}
           where status = 'SUCCEEDED' group by source_object
         ), false)`,
      );
    }
    if (!readOnly) await lake.summarizeOlderRuns();
    await lake.refreshSilver();
    // A lake made before known_extensions existed gains it from every run's extents (failed and replaced
    // runs' too: the bounds may be wider than the published events, never narrower).
    if (!readOnly && Number(known?.n) === 0) {
      await lake.exec(
        `insert into ${KNOWN_EXTENSIONS.name} (extension, first_day, last_day)
         select extension, min(event_date), max(event_date) from ${EVENT_EXTENTS.name} group by extension`,
      );
    }
    for (const file of SETUP_FILES) await lake.exec(definitions(readSql(file)));
    return lake;
  }

  /**
   * A lake written before event_extents and loaded_days existed gains them for every run whose events
   * it holds (each run's files are `<source id>_<run tag>_<n>.parquet`), written aside and moved in.
   */
  private async summarizeOlderRuns(): Promise<void> {
    const stemOf = (name: string) => /^([0-9a-f]{16}_[0-9a-f]{8})_/.exec(basename(name))?.[1];
    const days = new Set(
      parquetFiles(silverTableDir(this.paths, LOADED_DAYS)).map((n) => basename(n, '.parquet')),
    );
    const missing = new Set(
      parquetFiles(silverTableDir(this.paths, AGENT_EVENTS))
        .map(stemOf)
        .filter((stem): stem is string => stem !== undefined && !days.has(stem)),
    );
    for (const stem of missing) {
      const aside = join(this.paths.staging, `summaries-${stem}`);
      rmSync(aside, { recursive: true, force: true });
      mkdirSync(aside, { recursive: true });
      const extents = join(aside, EVENT_EXTENTS.name);
      const loaded = join(aside, LOADED_DAYS.name);
      await writeDaySummaries(this, silverTableDir(this.paths, AGENT_EVENTS), extents, loaded, stem);
      for (const [from, table] of [
        [extents, EVENT_EXTENTS],
        [loaded, LOADED_DAYS],
      ] as const) {
        for (const name of parquetFiles(from)) {
          const target = join(silverTableDir(this.paths, table), name);
          mkdirSync(dirname(target), { recursive: true });
          renameSync(join(from, name), target);
        }
      }
      rmSync(aside, { recursive: true, force: true });
    }
  }

  /** A lake made before its views and macros lived in the connection: those kept in its file go. */
  private async dropStoredDefinitions(): Promise<void> {
    const stored = await this.query(
      `select 'view' as kind, view_name as name from duckdb_views() where not internal and not temporary
       union all
       select distinct 'macro', function_name from duckdb_functions()
       where not internal and function_type = 'macro' and database_name <> 'temp'`,
    );
    for (const { kind, name } of stored) {
      await this.exec(`drop ${kind} if exists main.${String(name)}${kind === 'view' ? ' cascade' : ''}`);
    }
  }

  /**
   * Points the silver views at the Parquet files now on disk (the Glue catalog's job in AWS), named one
   * by one: a glob in the view would walk every day's folder at each reference, and a run makes about 14
   * (4.2 ms a reference at 90 days of history against 2.2 ms with the list, 0.5 ms at none). Only the
   * loader changes silver, and it calls this after it has.
   */
  async refreshSilver(): Promise<void> {
    for (const table of SILVER_TABLES) {
      const dir = silverTableDir(this.paths, table);
      const files = parquetFiles(dir).sort();
      const columns = [...table.columns, ...table.partitionKeys].map((c) => c.name).join(', ');
      const keys = table.partitionKeys.map((k) => `'${k.name}': ${DUCKDB_TYPES[k.type]}`);
      const options =
        keys.length > 0
          ? `hive_partitioning = true, hive_types = {${keys.join(', ')}}`
          : 'hive_partitioning = false';
      const list = files.map((name) => sqlLiteral(globLiteral(join(dir, name)))).join(', ');
      const source =
        files.length > 0 ? `select ${columns} from read_parquet([${list}], ${options})` : emptySelect(table);
      await this.exec(`create or replace temp view ${table.name} as ${source}`);
    }
  }

  /** Runs statements without parameters (DDL, the prelude). */
  async exec(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  async query(sql: string, parameters: readonly QueryValue[] = []): Promise<QueryRow[]> {
    const reader = await this.connection.runAndReadAll(
      sql,
      parameters.length > 0 ? [...parameters] : undefined,
    );
    return reader.getRowObjectsJson() as QueryRow[];
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Rewrites the lake's database file as a fresh copy of itself (DuckDB's `COPY FROM DATABASE`), then puts
 * it in place of the old one: the local counterpart of the scheduled Iceberg OPTIMIZE and VACUUM in AWS
 * (stacks/constructs/maintenance.ts). Each run's MERGEs leave the file with partly used blocks, and the
 * checkpoint when the lake closes grows with them (145 ms after 91 daily runs, 37 ms after this, for the
 * same rows; docs/benchmark.md). The lake is opened and closed first, so its write-ahead log is
 * checkpointed into the file; the copy is written beside it and renamed over it (rename(2) is atomic
 * within one file system), so a failed or killed compaction leaves the lake as it was (and a
 * `.compacting` file beside it, which the next compaction removes). The caller holds the lake's writer
 * lock.
 */
export async function compactWarehouse(root: string): Promise<{ before: number; after: number }> {
  const paths = lakePaths(root);
  (await Lake.open(root)).close();
  const wal = `${paths.warehouse}.wal`;
  if (existsSync(wal)) throw new Error(`${wal}: the lake's write-ahead log is still there after closing it`);
  const copy = `${paths.warehouse}.compacting`;
  for (const leftover of [copy, `${copy}.wal`]) rmSync(leftover, { force: true });
  const before = statSync(paths.warehouse).size;
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: process.env.AGENT_ETL_MEMORY_LIMIT ?? DEFAULT_MEMORY_LIMIT,
  });
  const connection = await instance.connect();
  try {
    await connection.run(`attach ${sqlLiteral(paths.warehouse)} as lake_file (read_only)`);
    await connection.run(`attach ${sqlLiteral(copy)} as compacted`);
    await connection.run('copy from database lake_file to compacted');
    await connection.run('detach compacted');
    await connection.run('detach lake_file');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  renameSync(copy, paths.warehouse);
  return { before, after: statSync(paths.warehouse).size };
}
