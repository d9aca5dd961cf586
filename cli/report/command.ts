import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import { Lake } from '../../local/lake';
import { StrictAthenaEngine } from '../../local/strict-twin';
import { loadReportData } from './data';
import { renderPage } from './page';

export interface ReportCommandOptions {
  readonly lake: string;
  readonly out: string;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** `--timezone`, over `AGENT_ETL_TIMEZONE`, over UTC: the same zone `check` uses. */
  readonly timezone?: string | undefined;
}

/** `agent-etl report`: reads the lake, writes the page, returns its absolute path. */
export async function writeReport(options: ReportCommandOptions, now = new Date()): Promise<string> {
  const timeZone = options.timezone ?? process.env.AGENT_ETL_TIMEZONE ?? 'UTC';
  const schedule = parseOperatingSchedule(process.env.AGENT_ETL_OPERATING_SCHEDULE);
  const lake = await Lake.open(options.lake, { readOnly: true });
  let html: string;
  try {
    // Every statement as Athena would take it: the strict twin refuses what Athena refuses.
    const data = await loadReportData(new StrictAthenaEngine(lake), {
      from: options.from,
      to: options.to,
      timeZone,
      schedule,
    });
    html = renderPage(data, { source: lake.paths.root, generatedAt: now.toISOString() });
  } finally {
    lake.close();
  }
  const path = resolve(options.out);
  writeFileSync(path, html);
  return path;
}
