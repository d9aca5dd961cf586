import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Lake, silverTableDir, sqlLiteral } from '../local/lake';
import { LOAD_STATE } from '../workflow/definition';
import { normalizeSql } from '../workflow/sql-template';
import { PIPELINE_STEPS, readSql, START_STEP } from '../workflow/steps';
import { AGENT_EVENTS, MANAGED_TABLES } from '../workflow/tables';

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
  readonly columns: readonly string[];
}

const SILVER_COLUMNS = [...AGENT_EVENTS.columns, ...AGENT_EVENTS.partitionKeys].map((c) => c.name);
const TABLES = new Set(MANAGED_TABLES.map((t) => t.name));

/** Silver scans (Parquet) and table scans (warehouse) of one statement's profile. */
function collect(node: ProfileNode, scans: SilverScan[], tableRows: Record<string, number>): void {
  const info = node.extra_info ?? {};
  if (node.operator_name === 'READ_PARQUET') {
    // The columns a scan reads are the ones its projections and filters name.
    const text = JSON.stringify({ ...info, 'Filename(s)': undefined });
    scans.push({
      files: Number(info['Total Files Read'] ?? 0),
      columns: SILVER_COLUMNS.filter((c) => new RegExp(`\\b${c}\\b`).test(text)),
    });
  } else if (typeof info.Table === 'string') {
    const table = info.Table.split('.').at(-1) ?? '';
    if (TABLES.has(table))
      tableRows[table] = (tableRows[table] ?? 0) + Number(node.operator_rows_scanned ?? 0);
  }
  for (const child of node.children ?? []) collect(child, scans, tableRows);
}

/** Compressed bytes per silver column and file count; Parquet bytes per row of each warehouse table. */
async function sizes(lake: Lake): Promise<{
  columnBytes: Record<string, number>;
  files: number;
  rowBytes: Record<string, number>;
}> {
  const glob = join(silverTableDir(lake.paths, AGENT_EVENTS), '**', '*.parquet');
  const columns = await lake.query(
    `select path_in_schema as name, sum(total_compressed_size) as bytes, count(distinct file_name) as files
     from parquet_metadata(${sqlLiteral(glob)}) group by all`,
  );
  const columnBytes = Object.fromEntries(columns.map((r) => [String(r.name), Number(r.bytes)]));
  const files = Math.max(0, ...columns.map((r) => Number(r.files)));
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
  return { columnBytes, files, rowBytes };
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
          const share = size.files > 0 ? Math.min(1, scan.files / size.files) : 0;
          reads.silverBytes += share * scan.columns.reduce((sum, c) => sum + (size.columnBytes[c] ?? 0), 0);
        }
        for (const [table, rows] of Object.entries(reads.tableRows))
          reads.tableBytes += rows * (size.rowBytes[table] ?? 0);
        return reads;
      });
    },
  };
}
