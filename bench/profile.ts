import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Lake, silverTableDir, sqlLiteral } from '../local/lake';
import { LOAD_STATE } from '../workflow/definition';
import { normalizeSql } from '../workflow/sql-template';
import { PIPELINE_STEPS, readSql, START_STEP } from '../workflow/steps';
import { MANAGED_TABLES, SILVER_TABLES } from '../workflow/tables';

/**
 * What one pipeline step read, from DuckDB's JSON query profiles (one per statement): the silver
 * Parquet files its scans opened and the columns they read, and the rows its scans of warehouse tables
 * (gold, ops, staging) went through. Bytes are estimated afterwards, as Athena would bill them: the
 * compressed size of the column chunks read, and for a table the Parquet bytes of the rows scanned.
 */
export interface StepReads {
  readonly step: string;
  statements: number;
  seconds: number;
  /** Parquet files opened by silver scans, summed over scans (a file read twice counts twice). */
  silverFiles: number;
  /** Estimated compressed bytes of the silver column chunks the scans read. */
  silverBytes: number;
  /** Rows scanned per warehouse table (gold, ops, staging; the loader's temp tables are left out). */
  readonly tableRows: Record<string, number>;
  /** Estimated Parquet bytes of those rows, as Iceberg tables in AWS would hold them. */
  tableBytes: number;
}

interface ProfileNode {
  readonly operator_name?: string;
  readonly operator_rows_scanned?: number;
  readonly latency?: number;
  readonly extra_info?: Record<string, unknown>;
  readonly children?: readonly ProfileNode[];
}

interface SilverScan {
  readonly files: number;
  /** The files the scan opened, when the profile names them all (DuckDB lists them as "Filename(s)"). */
  readonly names: readonly string[];
  readonly text: string;
}

const SILVER_COLUMNS = [
  ...new Set(SILVER_TABLES.flatMap((t) => [...t.columns, ...t.partitionKeys].map((c) => c.name))),
];
const TABLES = new Set(MANAGED_TABLES.map((t) => t.name));

/** Silver scans (Parquet) and table scans (warehouse) of one statement's profile. */
function collect(node: ProfileNode, scans: SilverScan[], tableRows: Record<string, number>): void {
  const info = node.extra_info ?? {};
  if (node.operator_name === 'READ_PARQUET') {
    // The columns a scan reads are the ones its projections and filters name.
    scans.push({
      files: Number(info['Total Files Read'] ?? 0),
      names: String(info['Filename(s)'] ?? '').match(/[^\s,]+\.parquet/g) ?? [],
      text: JSON.stringify({ ...info, 'Filename(s)': undefined }),
    });
  } else if (typeof info.Table === 'string') {
    const table = info.Table.split('.').at(-1) ?? '';
    if (TABLES.has(table))
      tableRows[table] = (tableRows[table] ?? 0) + Number(node.operator_rows_scanned ?? 0);
  }
  for (const child of node.children ?? []) collect(child, scans, tableRows);
}

/** Compressed bytes of each column chunk of every silver file; Parquet bytes per row of each warehouse table. */
async function sizes(lake: Lake): Promise<{
  fileColumns: Map<string, Map<string, number>>;
  rowBytes: Record<string, number>;
}> {
  const fileColumns = new Map<string, Map<string, number>>();
  for (const table of SILVER_TABLES) {
    const glob = join(silverTableDir(lake.paths, table), '**', '*.parquet');
    const [any] = await lake.query(`select count(*) as n from glob(${sqlLiteral(glob)})`);
    if (Number(any?.n ?? 0) === 0) continue;
    const rows = await lake.query(
      `select file_name, path_in_schema as name, sum(total_compressed_size) as bytes
       from parquet_metadata(${sqlLiteral(glob)}) group by all`,
    );
    for (const r of rows) {
      const file = String(r.file_name);
      const columns = fileColumns.get(file) ?? new Map<string, number>();
      columns.set(String(r.name), Number(r.bytes));
      fileColumns.set(file, columns);
    }
  }
  const scratch = mkdtempSync(join(tmpdir(), 'agent-etl-sizes-'));
  const rowBytes: Record<string, number> = {};
  try {
    for (const table of TABLES) {
      const [count] = await lake.query(`select count(*) as n from ${table}`);
      const rows = Number(count?.n ?? 0);
      if (rows === 0) continue;
      const file = join(scratch, `${table}.parquet`);
      await lake.exec(`copy ${table} to ${sqlLiteral(file)} (format parquet)`);
      rowBytes[table] = statSync(file).size / rows;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { fileColumns, rowBytes };
}

/**
 * The bytes Athena would bill for a silver scan: the compressed column chunks of the columns it names,
 * in the files it opened. A file of an earlier run that the profile names but the lake no longer holds
 * counts nothing; when the profile names fewer files than it read, the named ones stand for the rest.
 */
function scanBytes(scan: SilverScan, fileColumns: Map<string, Map<string, number>>): number {
  if (scan.files === 0) return 0;
  const columns = SILVER_COLUMNS.filter((c) => new RegExp(`\\b${c}\\b`).test(scan.text));
  // An unpruned scan names its glob (`<table dir>/**/*.parquet`): every file of the table.
  const names = scan.names.flatMap((name) => {
    if (!name.includes('*')) return [name];
    const dir = name.slice(0, name.indexOf('*'));
    return [...fileColumns.keys()].filter((file) => file.startsWith(dir));
  });
  const bytes = names.reduce((sum, name) => {
    const chunks = fileColumns.get(name);
    return sum + columns.reduce((s, c) => s + (chunks?.get(c) ?? 0), 0);
  }, 0);
  return names.length > 0 ? (bytes * scan.files) / names.length : 0;
}

/**
 * Turns profiling on for the lake's connection and attributes each statement to the step whose SQL
 * text it runs (the loader's statements go to the load step). `finish` turns it off and returns the
 * reads per step, with bytes estimated from the lake as the run left it. Profiling costs a few percent,
 * so timed runs are not profiled.
 */
export async function profileSteps(
  lake: Lake,
  profileFile: string,
): Promise<{ finish: () => Promise<StepReads[]> }> {
  // The state machine runs each file as rendered text: normalized, with base64 values filled in, so a
  // step is known by its text up to the first value.
  const stepPrefixes = [START_STEP, ...PIPELINE_STEPS].map(
    (step) => [normalizeSql(readSql(step.file)).split('{')[0] ?? '', step.state] as const,
  );
  const stepOf = (sql: string) => stepPrefixes.find(([prefix]) => sql.startsWith(prefix))?.[1];
  const steps = new Map<string, { reads: StepReads; scans: SilverScan[] }>();
  let current = LOAD_STATE;
  await lake.exec(`pragma enable_profiling = 'json'`);
  await lake.exec(`pragma profiling_output = ${sqlLiteral(profileFile)}`);
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
        },
        scans: [],
      };
      steps.set(current, entry);
    }
    entry.reads.statements += 1;
    entry.reads.seconds += Number(profile.latency ?? 0);
    collect(profile, entry.scans, entry.reads.tableRows);
  };
  const query = lake.query.bind(lake);
  const exec = lake.exec.bind(lake);
  lake.query = async (sql, parameters) => {
    current = stepOf(sql) ?? current;
    const rows = await query(sql, parameters);
    record();
    // the load's statements follow the run's first step and match no step of their own
    if (current === START_STEP.state) current = LOAD_STATE;
    return rows;
  };
  lake.exec = async (sql) => {
    await exec(sql);
    record();
  };
  return {
    finish: async () => {
      lake.query = query;
      lake.exec = exec;
      await exec('pragma disable_profiling');
      const size = await sizes(lake);
      return [...steps.values()].map(({ reads, scans }) => {
        for (const scan of scans) {
          reads.silverFiles += scan.files;
          reads.silverBytes += scanBytes(scan, size.fileColumns);
        }
        for (const [table, rows] of Object.entries(reads.tableRows))
          reads.tableBytes += rows * (size.rowBytes[table] ?? 0);
        return reads;
      });
    },
  };
}

/** Bytes a run read, as Athena would bill them: silver column chunks plus warehouse (gold, ops) rows. */
export function bytesRead(steps: readonly StepReads[]): { silver: number; tables: number; total: number } {
  const silver = steps.reduce((sum, s) => sum + s.silverBytes, 0);
  const tables = steps.reduce((sum, s) => sum + s.tableBytes, 0);
  return { silver, tables, total: silver + tables };
}
