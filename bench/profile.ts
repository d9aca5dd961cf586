import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { type Lake, silverTableDir, sqlLiteral } from '../local/lake';
import { LOAD_STATE } from '../workflow/definition';
import { normalizeSql } from '../workflow/sql-template';
import { OBJECT_DAYS, PIPELINE_STEPS, RUN_DAYS, readSql, START_STEP } from '../workflow/steps';
import {
  AGENT_INTERVALS,
  MANAGED_TABLES,
  SILVER_TABLES,
  type TableDefinition,
  WEEKLY_SUMMARY,
} from '../workflow/tables';

/**
 * Where a read's bytes belong, for the target "one day into 90 days of history reads at most 1.2x the
 * bytes of the same day into an empty lake (plus the neighbour days' partitions)":
 * - own: partitions of the run's own days (the event_date partitions the run wrote to silver; gold
 *   rows whose interval_start falls on one of those days; the weekly_summary week holding one);
 * - neighbour: partitions of every other day (silver days of the neighbours' events and of the extents
 *   search; gold days of the windows reaching back to an agent's previous event and of the touched
 *   weeks; the other weekly_summary weeks);
 * - other: reads not by day (ops and staging tables, the silver tables without a day partition such
 *   as loaded_days).
 */
export interface ReadSplit {
  own: number;
  neighbour: number;
  other: number;
}

/**
 * What one pipeline step read, from DuckDB's JSON query profiles (one per statement), with bytes
 * estimated as Athena would bill them: the compressed size of the silver column chunks read; for gold
 * agent_intervals, the Parquet bytes of the day partitions (day of interval_start) its scans' range
 * covers; for every other warehouse table, the Parquet bytes of the rows scanned.
 */
export interface StepReads {
  readonly step: string;
  statements: number;
  seconds: number;
  /** Parquet files opened by silver scans, summed over scans (a file read twice counts twice). */
  silverFiles: number;
  /** Estimated compressed bytes of the silver column chunks the scans read. */
  silverBytes: number;
  /** Rows DuckDB scanned per warehouse table (gold, ops, staging; the loader's temp tables are left out). */
  readonly tableRows: Record<string, number>;
  /** Estimated Parquet bytes of the warehouse reads (agent_intervals by day partition, the rest by rows). */
  tableBytes: number;
  /**
   * Per table partitioned by a column's value (pipeline_runs by `published`): the rows Athena would read,
   * those of the partitions each scan keeps, each scan as often as Athena runs it.
   */
  readonly partitionRows: Record<string, number>;
  /** Bytes by where they belong (silver and tables together). */
  readonly split: ReadSplit;
  /** Bytes per day read (own and neighbour days), silver and gold together. */
  readonly dayBytes: Record<string, number>;
  /** The gold part of dayBytes: bytes of each agent_intervals day partition read. */
  readonly goldDayBytes: Record<string, number>;
  /** Bytes of each weekly_summary partition read, by week_start (a partition holds one week). */
  readonly weekBytes: Record<string, number>;
  /** The run's own days (event dates it loaded). */
  ownDays: string[];
  /** The split per table (silver and warehouse tables by name). */
  readonly tableSplit: Record<string, ReadSplit>;
  /** Scans whose day attribution did not check out against the profile (then estimated as before). */
  unverified: number;
  /**
   * Per table: the most times Athena would run one of the step's scans of it, which inlines each WITH
   * query at each of its references (cteEvaluations).
   */
  readonly evaluations: Record<string, number>;
}

export interface ProfileNode {
  readonly operator_name?: string;
  readonly operator_rows_scanned?: number;
  readonly operator_cardinality?: number;
  readonly latency?: number;
  readonly extra_info?: Record<string, unknown>;
  readonly children?: readonly ProfileNode[];
}

export interface SilverScan {
  /** How many times Athena would run the scan: its CTE's references, inlined (cteEvaluations). */
  readonly times: number;
  readonly files: number;
  /** The files (or globs) the profile names; DuckDB names the first few and ends with "..." past them. */
  readonly names: readonly string[];
  readonly truncated: boolean;
  readonly rowsScanned: number;
  readonly filters: string;
  readonly text: string;
}

/**
 * A scan of a partitioned warehouse table (agent_intervals, weekly_summary: their `layout`), with the
 * rows per day partition the table held when its statement ran.
 */
interface GoldScan {
  readonly table: string;
  /** How many times Athena would run the scan (cteEvaluations). */
  readonly times: number;
  readonly filters: string;
  /** The columns the scan reads (its projections and filters name them). */
  readonly columns: readonly string[];
  /** Rows the scan emitted (after its filters): every one must lie in the days the range covers. */
  readonly emitted: number;
  /** Rows DuckDB read for it (whole vectors). */
  readonly scanned: number;
  readonly dayRows: ReadonlyMap<string, number>;
}

/**
 * A scan of a table partitioned by a column's value (KEYED), with the rows per partition value the
 * table held when its statement ran.
 */
export interface KeyedScan {
  readonly table: string;
  /** How many times Athena would run the scan (cteEvaluations). */
  readonly times: number;
  readonly filters: string;
  /** Rows the scan emitted (after its filters): every one must lie in the partitions kept. */
  readonly emitted: number;
  /** Rows per partition value ('true', 'false'), as the statement found the table. */
  readonly valueRows: ReadonlyMap<string, number>;
}

const SILVER_COLUMNS = [
  ...new Set(SILVER_TABLES.flatMap((t) => [...t.columns, ...t.partitionKeys].map((c) => c.name))),
];
/** The warehouse tables partitioned by day in AWS (Iceberg day() transform of `layout.column`). */
const PARTITIONED: ReadonlyMap<string, TableDefinition & { layout: { column: string } }> = new Map(
  MANAGED_TABLES.flatMap((table) => {
    if (!table.layout || table.layout.transform === 'identity') return [];
    if (table.layout.transform !== 'day')
      throw new Error(
        `bench/profile.ts bills day and identity partitions only, not ${table.layout.transform}(${table.name})`,
      );
    return [[table.name, { ...table, layout: table.layout }] as const];
  }),
);
/**
 * The warehouse tables partitioned by a column's value in AWS (Iceberg identity transform), by table:
 * the column (pipeline_runs by `published`).
 */
const KEYED: ReadonlyMap<string, string> = new Map(
  MANAGED_TABLES.flatMap((table) =>
    table.layout?.transform === 'identity' ? [[table.name, table.layout.column] as const] : [],
  ),
);
const dayColumn = (table: string) => PARTITIONED.get(table)?.layout.column ?? '';
const columnsOf = (table: string) => PARTITIONED.get(table)?.columns.map((c) => c.name) ?? [];
/** A weekly_summary partition holds one week (week_start is a Monday): it belongs to the days of its week. */
const PARTITION_DAYS: Readonly<Record<string, number>> = {
  [WEEKLY_SUMMARY.name]: 7,
  [AGENT_INTERVALS.name]: 1,
};
/** The columns of `names` a profile node's text names. */
const named = (names: readonly string[], text: string) =>
  names.filter((c) => new RegExp(`\\b${c}\\b`).test(text));
const EVENT_DATE = /\/event_date=(\d{4}-\d{2}-\d{2})\//;

/**
 * A scan's filters as one text: its row filters, its dynamic (join) filters, and the filter its files
 * were chosen by ("File Filters": a partition filter DuckDB applied to the file list when it planned,
 * which then leaves no row filter behind).
 */
function filterText(info: Record<string, unknown>): string {
  return [info.Filters, info['Dynamic Filters'], info['File Filters']]
    .flat()
    .filter((f) => f !== undefined)
    .join(' AND ');
}

/**
 * Every node of a profile with the CTE definition it lies in (the CTE's table index, '' outside every
 * definition). A CTE node's first child is the definition, the second the rest of the statement.
 */
function forEachInScope(root: ProfileNode, visit: (node: ProfileNode, scope: string) => void): void {
  const walk = (node: ProfileNode, scope: string) => {
    visit(node, scope);
    const children = node.children ?? [];
    if (node.operator_name === 'CTE') {
      const [definition, rest] = children;
      if (definition) walk(definition, String(node.extra_info?.['Table Index'] ?? ''));
      if (rest) walk(rest, scope);
    } else for (const child of children) walk(child, scope);
  };
  walk(root, '');
}

/**
 * How many times Athena would evaluate what lies in each CTE definition of a statement's profile, by
 * the CTE's table index ('' for the statement outside every definition, once). DuckDB (1.4 on)
 * materializes a CTE referenced more than once, evaluates it once and reads it back (CTE_SCAN); Trino
 * inlines every WITH query where it is referenced, so each reference runs it again
 * (https://github.com/trinodb/trino/issues/18421, open), including the references from inside other
 * CTEs, each as many times as that CTE runs. A CTE referenced once is inlined by DuckDB too: it has
 * no CTE node and counts once.
 */
export function cteEvaluations(root: ProfileNode): Map<string, number> {
  const references = new Map<string, string[]>();
  forEachInScope(root, (node, scope) => {
    if (node.operator_name !== 'CTE_SCAN') return;
    const cte = String(node.extra_info?.['CTE Index'] ?? '');
    references.set(cte, [...(references.get(cte) ?? []), scope]);
  });
  const evaluations = new Map<string, number>([['', 1]]);
  const count = (cte: string, path: ReadonlySet<string>): number => {
    const known = evaluations.get(cte);
    if (known !== undefined) return known;
    if (path.has(cte)) throw new Error(`a CTE that references itself (table index ${cte})`);
    const inner = new Set([...path, cte]);
    const total = (references.get(cte) ?? []).reduce((sum, scope) => sum + count(scope, inner), 0);
    evaluations.set(cte, total);
    return total;
  };
  for (const cte of references.keys()) count(cte, new Set());
  return evaluations;
}

/** Silver scans (Parquet), gold day scans and table scans (warehouse) of one statement's profile. */
function collect(
  root: ProfileNode,
  warehouse: string,
  found: {
    silver: SilverScan[];
    gold: Omit<GoldScan, 'dayRows'>[];
    keyed: Omit<KeyedScan, 'valueRows'>[];
  },
  tableRows: Record<string, number>,
  evaluations: Record<string, number>,
): void {
  const evaluated = (table: string, times: number) => {
    evaluations[table] = Math.max(evaluations[table] ?? 0, times);
  };
  const runs = cteEvaluations(root);
  forEachInScope(root, (node, scope) => {
    const times = runs.get(scope) ?? 1;
    const info = node.extra_info ?? {};
    if (node.operator_name === 'READ_PARQUET') {
      const listed = String(info['Filename(s)'] ?? '');
      const silverTable = SILVER_TABLES.find((t) => listed.includes(`/${t.name}/`));
      if (silverTable) evaluated(silverTable.name, times);
      // The columns a scan reads are the ones its projections and filters name.
      found.silver.push({
        times,
        files: Number(info['Total Files Read'] ?? 0),
        names: listed.match(/[^\s,]+\.parquet/g) ?? [],
        truncated: listed.trimEnd().endsWith('...'),
        rowsScanned: Number(node.operator_rows_scanned ?? 0),
        filters: filterText(info),
        text: JSON.stringify({ ...info, 'Filename(s)': undefined }),
      });
    } else if (typeof info.Table === 'string') {
      const [catalog, , table = ''] = info.Table.split('.');
      // Every warehouse table (gold, ops, staging, and any a later change adds); the loader's temp tables
      // are its own work, not Athena's.
      if (catalog === warehouse) {
        tableRows[table] = (tableRows[table] ?? 0) + times * Number(node.operator_rows_scanned ?? 0);
        evaluated(table, times);
      }
      if (catalog === warehouse && KEYED.has(table)) {
        found.keyed.push({
          table,
          times,
          filters: filterText(info),
          emitted: Number(node.operator_cardinality ?? 0),
        });
      }
      if (catalog === warehouse && PARTITIONED.has(table)) {
        const columns = named(columnsOf(table), JSON.stringify(info));
        found.gold.push({
          table,
          times,
          filters: filterText(info),
          columns: columns.length > 0 ? columns : columnsOf(table),
          emitted: Number(node.operator_cardinality ?? 0),
          scanned: Number(node.operator_rows_scanned ?? 0),
        });
      }
    }
  });
}

const DAY_MS = 86_400_000;
const shiftDay = (day: string, by: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + by * DAY_MS).toISOString().slice(0, 10);

/**
 * The days a scan's filters leave of a date or timestamp column: DuckDB prints each pushed-down
 * comparison (static "Filters", and "Dynamic Filters" from the joins, the min/max or the IN list of the
 * build side; "optional:" ones only prune) as `column<op>'value'::TYPE`, all of them ANDed. Each bound is
 * turned into days: `>= '2025-03-03 15:30'` keeps 2025-03-03 on; `< '2025-03-05 00:00'` ends on
 * 2025-03-04. `BETWEEN 'a' AND 'b'` (how a file filter prints a range) bounds both ends. An IN list
 * keeps its values' days. A filter text with an OR that names the column is not read (no bound
 * taken): the scan then covers more days, never fewer.
 */
export function dayBounds(
  filters: string,
  column: string,
): { from?: string; to?: string; only?: ReadonlySet<string> } {
  const bounds: { from?: string; to?: string; only?: Set<string> } = {};
  if (/\bOR\b/.test(filters) && filters.includes(column)) return bounds;
  // `column BETWEEN 'a' AND 'b'` (a file filter's form) is `column>='a' AND column<='b'`
  const between = new RegExp(`\\b${column}\\s+BETWEEN\\s+('[^']+')(::\\w+)?\\s+AND\\s+('[^']+')`, 'g');
  const text = filters.replace(
    between,
    (_, from: string, type = '', to: string) => `${column}>=${from}${type} AND ${column}<=${to}`,
  );
  const comparison = new RegExp(`\\b${column}\\s*(>=|<=|>|<|=)\\s*'([^']+)'`, 'g');
  for (const [, op, value = ''] of text.matchAll(comparison)) {
    const day = value.slice(0, 10);
    const midnight = value.length === 10 || /^\d{4}-\d{2}-\d{2} 00:00:00(\.0+)?$/.test(value);
    const from = op === '>' && value.length === 10 ? shiftDay(day, 1) : day;
    const to = op === '<' && midnight ? shiftDay(day, -1) : day;
    if (op !== '<' && op !== '<=' && (!bounds.from || from > bounds.from)) bounds.from = from;
    if (op !== '>' && op !== '>=' && (!bounds.to || to < bounds.to)) bounds.to = to;
  }
  const list = new RegExp(`\\b${column}\\s+IN\\s*\\(([^)]*)\\)`, 'g');
  for (const [, values = ''] of text.matchAll(list)) {
    const days = new Set([...values.matchAll(/'(\d{4}-\d{2}-\d{2})/g)].map((m) => m[1] as string));
    bounds.only = bounds.only ? new Set([...bounds.only].filter((d) => days.has(d))) : days;
  }
  return bounds;
}

function keeps(bounds: ReturnType<typeof dayBounds>, day: string): boolean {
  return (
    (!bounds.from || day >= bounds.from) &&
    (!bounds.to || day <= bounds.to) &&
    (!bounds.only || bounds.only.has(day))
  );
}

/** A DuckDB glob (`**`, `*`, one-character classes as globLiteral writes them) as a regular expression. */
function globPattern(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (glob.startsWith('**/', i)) {
      pattern += '(?:.*/)?';
      i += 2;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else if (c === '[' && glob[i + 2] === ']') {
      pattern += (glob[i + 1] as string).replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
      i += 2;
    } else pattern += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

interface Sizes {
  /** Compressed bytes of each column chunk of every silver file. */
  readonly fileColumns: Map<string, Map<string, number>>;
  /** Column-chunk bytes per row of each warehouse table, written as one Parquet file. */
  readonly rowBytes: Record<string, number>;
  /**
   * Per partitioned table: column-chunk bytes per row of each column of each day partition (written as
   * Parquet partitioned by day of its layout column), and of the whole table for a day gone by the end.
   */
  readonly goldDay: Map<string, Map<string, Map<string, number>>>;
  readonly goldAll: Map<string, Map<string, number>>;
}

/** Sums compressed column-chunk bytes per (file, column) of the Parquet files a glob matches. */
async function columnChunks(
  lake: Lake,
  glob: string,
): Promise<{ file: string; column: string; bytes: number }[]> {
  const [any] = await lake.query(`select count(*) as n from glob(${sqlLiteral(glob)})`);
  if (Number(any?.n ?? 0) === 0) return [];
  const rows = await lake.query(
    `select file_name, path_in_schema as name, sum(total_compressed_size) as bytes
     from parquet_metadata(${sqlLiteral(glob)}) group by all`,
  );
  return rows.map((r) => ({ file: String(r.file_name), column: String(r.name), bytes: Number(r.bytes) }));
}

/**
 * The sizes reads are billed by. Only column chunks count (Athena bills the data it scans; a footer
 * read is not the data of any day), so a table's bytes per row do not depend on how many rows share
 * one file's fixed overhead. Warehouse tables are written in the order of their natural key, each gold
 * day (of `goldDays`, the days the scans read) to a file of its own in interval order, as the merge
 * writes them: DuckDB's own row order depends on its threads, and the bytes must not.
 */
async function sizes(
  lake: Lake,
  tables: readonly string[],
  goldDays: ReadonlyMap<string, readonly string[]>,
): Promise<Sizes> {
  const fileColumns = new Map<string, Map<string, number>>();
  for (const table of SILVER_TABLES) {
    for (const chunk of await columnChunks(
      lake,
      join(silverTableDir(lake.paths, table), '**', '*.parquet'),
    )) {
      const columns = fileColumns.get(chunk.file) ?? new Map<string, number>();
      columns.set(chunk.column, chunk.bytes);
      fileColumns.set(chunk.file, columns);
    }
  }
  const scratch = mkdtempSync(join(tmpdir(), 'agent-etl-sizes-'));
  const rowBytes: Record<string, number> = {};
  const goldDay = new Map<string, Map<string, Map<string, number>>>();
  const goldAll = new Map<string, Map<string, number>>();
  // Column-chunk bytes per row of each column of what `select` returns, written as one Parquet file.
  const perRow = async (name: string, select: string): Promise<Map<string, number> | undefined> => {
    const [count] = await lake.query(`select count(*) as n from (${select})`);
    const rows = Number(count?.n ?? 0);
    if (rows === 0) return undefined;
    const file = join(scratch, `${name}.parquet`);
    await lake.exec(`copy (${select}) to ${sqlLiteral(file)} (format parquet)`);
    const columns = new Map<string, number>();
    for (const c of await columnChunks(lake, file))
      columns.set(c.column, (columns.get(c.column) ?? 0) + c.bytes / rows);
    return columns;
  };
  try {
    for (const name of tables) {
      const order = MANAGED_TABLES.find((t) => t.name === name)?.naturalKey.join(', ') ?? 'all';
      const columns = await perRow(name, `select * from ${name} order by ${order}`);
      if (!columns) continue;
      rowBytes[name] = [...columns.values()].reduce((sum, n) => sum + n, 0);
      if (PARTITIONED.has(name)) goldAll.set(name, columns);
    }
    for (const [table, days] of goldDays) {
      const column = dayColumn(table);
      const byDay = new Map<string, Map<string, number>>();
      for (const day of days) {
        const columns = await perRow(
          `${table}-${day}`,
          `select * from ${table}
           where ${column} >= date '${day}' and ${column} < date '${day}' + interval 1 day
           order by ${column}, extension`,
        );
        if (columns) byDay.set(day, columns);
      }
      goldDay.set(table, byDay);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { fileColumns, rowBytes, goldDay, goldAll };
}

/**
 * The silver files a scan read, found exactly: the files its named globs (or files) match whose
 * event_date partition its filters keep, which is how DuckDB prunes hive partitions (and how Athena
 * prunes projected partitions). The profile prints only the first few names, so the set is checked
 * against it: as many files as "Total Files Read", including every file the profile names. Undefined
 * when the check fails.
 */
export function filesRead(scan: SilverScan, files: readonly string[]): string[] | undefined {
  const globs = scan.names.filter((name) => name.includes('*'));
  const named = scan.names.filter((name) => !name.includes('*'));
  let candidates: string[];
  if (globs.length > 0) {
    const patterns = globs.map(globPattern);
    candidates = [...new Set([...named, ...files.filter((file) => patterns.some((p) => p.test(file)))])];
  } else if (!scan.truncated) candidates = named;
  else {
    // Named files past the first few: the rest are in the same table directory.
    const dirs = named.map((name) => name.replace(/\/event_date=.*$|\/[^/]*$/, '/'));
    candidates = files.filter((file) => dirs.some((dir) => file.startsWith(dir)));
  }
  const bounds = dayBounds(scan.filters, 'event_date');
  const read = candidates.filter((file) => {
    const day = EVENT_DATE.exec(file)?.[1];
    return day === undefined || keeps(bounds, day);
  });
  const readSet = new Set(read);
  return read.length === scan.files && named.every((name) => readSet.has(name)) ? read : undefined;
}

/**
 * The bytes Athena would bill for a silver scan, by file: the compressed column chunks of the columns
 * it names, in each file it read. A scan that read no rows bills nothing (its join had nothing to
 * match, and DuckDB, like Trino's dynamic filtering, read no column data), nor does a scan of files
 * outside the lake's silver tables. When the files read cannot be told exactly, the named ones stand
 * for the rest, and the scan is counted as unverified.
 */
function silverReads(
  scan: SilverScan,
  fileColumns: Map<string, Map<string, number>>,
  tableDirs: readonly string[],
): { byFile: Map<string, number>; verified: boolean } {
  const byFile = new Map<string, number>();
  if (scan.files === 0 || scan.rowsScanned === 0) return { byFile, verified: true };
  // The load's reads of its own staged files (moved into silver since) are the Glue job's, not Athena's.
  if (scan.names.every((name) => !tableDirs.some((dir) => name.startsWith(dir))))
    return { byFile, verified: true };
  const columns = named(SILVER_COLUMNS, scan.text);
  const bytesOf = (file: string) => columns.reduce((sum, c) => sum + (fileColumns.get(file)?.get(c) ?? 0), 0);
  const exact = filesRead(scan, [...fileColumns.keys()]);
  if (exact) {
    for (const file of exact) byFile.set(file, (byFile.get(file) ?? 0) + bytesOf(file));
    return { byFile, verified: true };
  }
  const listed = scan.names.filter((name) => !name.includes('*'));
  for (const file of listed)
    byFile.set(file, (byFile.get(file) ?? 0) + (bytesOf(file) * scan.files) / listed.length);
  return { byFile, verified: false };
}

/**
 * Gold by day partition (agent_intervals by day of interval_start, weekly_summary by week_start, one
 * partition a week). Locally each is one DuckDB table, whose scans read whole row groups of
 * 122,880 rows (operator_rows_scanned), an artifact of the local layout; in AWS it is partitioned by
 * day() of that column and a scan reads the day partitions its predicate on the column keeps. So a scan
 * is billed the rows of each day its filters' range covers (dayBounds), counted in the table as it
 * stood when the statement ran (counted just before each statement), times the Parquet column-chunk
 * bytes per row of the columns it reads, in that day's partition. Exact per day by construction; it is
 * checked against the profile: every row the scan emitted after its filters must lie in those days
 * (emitted <= rows of the days kept), else the scan counts as unverified. __tests__/history-reads
 * checks the days against the run's windows on small data.
 */
function goldReads(
  scan: GoldScan,
  size: Sizes,
): { byDay: Map<string, number>; notByDay: number; verified: boolean } {
  const bounds = dayBounds(scan.filters, dayColumn(scan.table));
  const byDay = new Map<string, number>();
  const all = size.goldAll.get(scan.table) ?? new Map<string, number>();
  // A scan with no filter that DuckDB stopped before the table's end (the probe side of a join whose
  // other side held few rows or none, as AppendIntervals' read when few windows or none are its own):
  // its days are not in the profile, so it is billed the rows DuckDB read, not by day. In Athena the
  // join's dynamic filter bounds it (https://trino.io/docs/current/admin/dynamic-filtering.html).
  const tableRows = [...scan.dayRows.values()].reduce((sum, rows) => sum + rows, 0);
  if (scan.filters === '' && scan.scanned < tableRows) {
    const perRow = scan.columns.reduce((sum, c) => sum + (all.get(c) ?? 0), 0);
    return { byDay, notByDay: scan.scanned * perRow, verified: scan.emitted <= scan.scanned };
  }
  let kept = 0;
  for (const [day, rows] of scan.dayRows) {
    if (!keeps(bounds, day)) continue;
    kept += rows;
    const perRow = size.goldDay.get(scan.table)?.get(day) ?? all;
    byDay.set(day, rows * scan.columns.reduce((sum, c) => sum + (perRow.get(c) ?? 0), 0));
  }
  return { byDay, notByDay: 0, verified: scan.emitted <= kept };
}

/**
 * The rows Athena would read for a scan of a table partitioned by a column's value (KEYED): those of
 * the partitions its filters keep (`column=value`, ANDed; a filter naming the column any other way
 * keeps them all, as does none), as the table stood when the statement ran. Locally the table is one
 * DuckDB table, read whole. Checked against the profile: every row the scan emitted must lie in the
 * partitions kept, else the scan counts as unverified.
 */
export function keyedRows(scan: KeyedScan, column: string): { rows: number; verified: boolean } {
  const values = [...scan.filters.matchAll(new RegExp(`\\b${column}\\s*=\\s*'?(\\w+)'?`, 'g'))].map(
    (m) => m[1] as string,
  );
  const kept = [...scan.valueRows].filter(
    ([value]) => values.length === 0 || values.every((v) => v === value),
  );
  const rows = kept.reduce((sum, [, n]) => sum + n, 0);
  return { rows, verified: scan.emitted <= rows };
}

/**
 * Turns profiling on for the lake's connection and attributes each statement to the step whose SQL
 * text it runs (the loader's statements go to the load step). `finish` turns it off and returns the
 * reads per step, with bytes estimated from the lake as the run left it and split by day: own days are
 * the event dates the run `runId` loaded. Profiling costs a few percent and the gold day counts taken
 * before each statement more, so timed runs are not profiled.
 */
export async function profileSteps(
  lake: Lake,
  profileFile: string,
): Promise<{ finish: (runId: string) => Promise<StepReads[]> }> {
  // The state machine runs each file as rendered text: normalized, with base64 values filled in, so a
  // step is known by its text up to the first value.
  const stepPrefixes = [START_STEP, OBJECT_DAYS, RUN_DAYS, ...PIPELINE_STEPS].map(
    (step) => [normalizeSql(readSql(step.file)).split('{')[0] ?? '', step.state] as const,
  );
  const stepOf = (sql: string) => stepPrefixes.find(([prefix]) => sql.startsWith(prefix))?.[1];
  const steps = new Map<
    string,
    {
      reads: StepReads;
      silver: SilverScan[];
      gold: GoldScan[];
      keyed: KeyedScan[];
      tableRows: Record<string, number>;
    }
  >();
  // DuckDB names the tables of the lake's database file by the file's name.
  const warehouse = basename(lake.paths.warehouse, extname(lake.paths.warehouse));
  let current = LOAD_STATE;
  let dayRows = new Map<string, ReadonlyMap<string, number>>();
  let valueRows = new Map<string, ReadonlyMap<string, number>>();
  await lake.exec(`pragma enable_profiling = 'json'`);
  await lake.exec(`pragma profiling_output = ${sqlLiteral(profileFile)}`);
  const query = lake.query.bind(lake);
  const exec = lake.exec.bind(lake);
  // Rows per day partition of gold as the next statement will find them (these queries' own profiles
  // are discarded).
  const countGoldDays = async () => {
    dayRows = new Map();
    for (const table of PARTITIONED.keys()) {
      const rows = await query(
        `select cast(cast(${dayColumn(table)} as date) as varchar) as day, count(*) as n
         from ${table} group by all`,
      );
      rmSync(profileFile, { force: true });
      dayRows.set(table, new Map(rows.map((r) => [String(r.day), Number(r.n)])));
    }
    valueRows = new Map();
    for (const [table, column] of KEYED) {
      const rows = await query(
        `select cast(${column} as varchar) as value, count(*) as n from ${table} group by all`,
      );
      rmSync(profileFile, { force: true });
      valueRows.set(table, new Map(rows.map((r) => [String(r.value), Number(r.n)])));
    }
  };
  const record = () => {
    let profile: ProfileNode;
    try {
      profile = JSON.parse(readFileSync(profileFile, 'utf8')) as ProfileNode;
    } catch {
      return; // a statement that wrote no profile (a pragma)
    }
    rmSync(profileFile, { force: true });
    let entry = steps.get(current);
    if (!entry) {
      entry = {
        reads: {
          step: current,
          statements: 0,
          seconds: 0,
          silverFiles: 0,
          silverBytes: 0,
          tableRows: {},
          tableBytes: 0,
          partitionRows: {},
          split: { own: 0, neighbour: 0, other: 0 },
          dayBytes: {},
          goldDayBytes: {},
          weekBytes: {},
          ownDays: [],
          tableSplit: {},
          unverified: 0,
          evaluations: {},
        },
        silver: [],
        gold: [],
        keyed: [],
        tableRows: {},
      };
      steps.set(current, entry);
    }
    entry.reads.statements += 1;
    entry.reads.seconds += Number(profile.latency ?? 0);
    const found = {
      silver: [] as SilverScan[],
      gold: [] as Omit<GoldScan, 'dayRows'>[],
      keyed: [] as Omit<KeyedScan, 'valueRows'>[],
    };
    collect(profile, warehouse, found, entry.reads.tableRows, entry.reads.evaluations);
    entry.silver.push(...found.silver);
    entry.gold.push(...found.gold.map((g) => ({ ...g, dayRows: dayRows.get(g.table) ?? new Map() })));
    entry.keyed.push(...found.keyed.map((k) => ({ ...k, valueRows: valueRows.get(k.table) ?? new Map() })));
  };
  lake.query = async (sql, parameters) => {
    current = stepOf(sql) ?? current;
    if (current !== LOAD_STATE) await countGoldDays();
    const rows = await query(sql, parameters);
    record();
    // the load's statements follow the run's first step and match no step of their own
    if (current === START_STEP.state) current = LOAD_STATE;
    return rows;
  };
  lake.exec = async (sql) => {
    if (current !== LOAD_STATE) await countGoldDays();
    await exec(sql);
    record();
  };
  return {
    finish: async (runId: string) => {
      lake.query = query;
      lake.exec = exec;
      await exec('pragma disable_profiling');
      const goldDays = new Map<string, Set<string>>();
      for (const { gold } of steps.values()) {
        for (const scan of gold) {
          const bounds = dayBounds(scan.filters, dayColumn(scan.table));
          const days = goldDays.get(scan.table) ?? new Set<string>();
          for (const day of scan.dayRows.keys()) if (keeps(bounds, day)) days.add(day);
          goldDays.set(scan.table, days);
        }
      }
      const scanned = new Set([
        ...PARTITIONED.keys(),
        ...[...steps.values()].flatMap((e) => Object.keys(e.reads.tableRows)),
      ]);
      const size = await sizes(
        lake,
        [...scanned],
        new Map([...goldDays].map(([table, days]) => [table, [...days].sort()])),
      );
      const ownDays = (
        await query(
          'select distinct cast(event_date as varchar) as day from agent_events where run_id = ? order by day',
          [runId],
        )
      ).map((r) => String(r.day));
      const own = new Set(ownDays);
      const tableDirs = SILVER_TABLES.map((t) => `${silverTableDir(lake.paths, t)}/`);
      return [...steps.values()].map(({ reads, silver, gold, keyed }) => {
        reads.ownDays = ownDays;
        // A partition is the run's own when it holds one of the run's days (a weekly_summary partition
        // holds its week's), a neighbour's otherwise.
        const isOwn = (day: string, table: string) =>
          Array.from({ length: PARTITION_DAYS[table] ?? 1 }, (_, i) => shiftDay(day, i)).some((d) =>
            own.has(d),
          );
        const byDay = (day: string | undefined, bytes: number, table: string) => {
          const part = day === undefined ? 'other' : isOwn(day, table) ? 'own' : 'neighbour';
          reads.split[part] += bytes;
          reads.tableSplit[table] ??= { own: 0, neighbour: 0, other: 0 };
          reads.tableSplit[table][part] += bytes;
          if (day !== undefined && (PARTITION_DAYS[table] ?? 1) === 1)
            reads.dayBytes[day] = (reads.dayBytes[day] ?? 0) + bytes;
        };
        for (const scan of silver) {
          const { byFile, verified } = silverReads(scan, size.fileColumns, tableDirs);
          reads.silverFiles += scan.files * scan.times;
          if (!verified) reads.unverified += 1;
          for (const [file, once] of byFile) {
            const bytes = once * scan.times;
            reads.silverBytes += bytes;
            const table = SILVER_TABLES.find((t) => file.includes(`/${t.name}/`))?.name ?? 'silver';
            byDay(EVENT_DATE.exec(file)?.[1], bytes, table);
          }
        }
        for (const scan of gold) {
          const { byDay: days, notByDay: notByDayOnce, verified } = goldReads(scan, size);
          if (!verified) reads.unverified += 1;
          const notByDay = notByDayOnce * scan.times;
          reads.tableBytes += notByDay;
          byDay(undefined, notByDay, scan.table);
          for (const [day, once] of days) {
            const bytes = once * scan.times;
            reads.tableBytes += bytes;
            if (scan.table === AGENT_INTERVALS.name)
              reads.goldDayBytes[day] = (reads.goldDayBytes[day] ?? 0) + bytes;
            if (scan.table === WEEKLY_SUMMARY.name)
              reads.weekBytes[day] = (reads.weekBytes[day] ?? 0) + bytes;
            byDay(day, bytes, scan.table);
          }
        }
        // The local loader looks up the object's published run in pipeline_runs to keep its files; the
        // Glue job reads its per-object manifest from S3 instead, so no Athena bytes.
        for (const scan of reads.step === LOAD_STATE ? [] : keyed) {
          const { rows, verified } = keyedRows(scan, KEYED.get(scan.table) ?? '');
          if (!verified) reads.unverified += 1;
          reads.partitionRows[scan.table] = (reads.partitionRows[scan.table] ?? 0) + scan.times * rows;
          const bytes = scan.times * rows * (size.rowBytes[scan.table] ?? 0);
          reads.tableBytes += bytes;
          byDay(undefined, bytes, scan.table);
        }
        for (const [table, rows] of Object.entries(reads.tableRows)) {
          if (PARTITIONED.has(table) || KEYED.has(table) || reads.step === LOAD_STATE) continue;
          const bytes = rows * (size.rowBytes[table] ?? 0);
          reads.tableBytes += bytes;
          byDay(undefined, bytes, table);
        }
        return reads;
      });
    },
  };
}

/** A run's bytes by where they belong, with the neighbour days it read (distinct over its steps). */
export function splitRead(
  steps: readonly StepReads[],
): ReadSplit & { total: number; neighbourDays: string[]; unverified: number } {
  const own = new Set(steps.flatMap((s) => s.ownDays));
  const sum = (pick: (s: StepReads) => number) => steps.reduce((total, s) => total + pick(s), 0);
  const split = {
    own: sum((s) => s.split.own),
    neighbour: sum((s) => s.split.neighbour),
    other: sum((s) => s.split.other),
  };
  return {
    ...split,
    total: split.own + split.neighbour + split.other,
    neighbourDays: neighbourDays(
      steps.flatMap((s) => Object.keys(s.dayBytes)),
      own,
    ),
    unverified: sum((s) => s.unverified),
  };
}

/** The distinct days of `days` that are not the run's own, in order. */
export function neighbourDays(days: readonly string[], own: ReadonlySet<string>): string[] {
  return [...new Set(days)].filter((day) => !own.has(day)).sort();
}
