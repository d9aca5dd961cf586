import escapeHtml from 'escape-html';
import {
  CELL_COLORS,
  coverageHeatmap,
  dailyHoursChart,
  dayLabel,
  FONT,
  rejectsChart,
  runsChart,
  STATUS_COLORS,
  WIDTH,
  weeklyHoursChart,
} from './charts';
import type { CoverageDay, ReportData, RunRow } from './data';

/** Days of the runs chart: the latest days that have runs. */
const RUN_CHART_DAYS = 31;

const e = (value: string | number | null | undefined): string => escapeHtml(String(value ?? ''));
const integer = (value: number | null): string => (value === null ? '' : value.toLocaleString('en-US'));
const hours = (value: number | null): string =>
  value === null ? '' : value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function duration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function table(
  headers: readonly string[],
  rows: readonly string[][],
  rowAttributes: (index: number) => string = () => '',
): string {
  return [
    '<table><thead><tr>',
    ...headers.map((header) => `<th>${e(header)}</th>`),
    '</tr></thead><tbody>',
    ...rows.map((cells, index) => `<tr${rowAttributes(index)}>${cells.join('')}</tr>`),
    '</tbody></table>',
  ].join('');
}

const td = (content: string, className = ''): string =>
  `<td${className ? ` class="${className}"` : ''}>${content}</td>`;
const num = (content: string): string => td(content, 'num');

function figure(name: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${e(name)}">${svg}<figcaption>${e(caption)}</figcaption></figure>`;
}

function dstNote(day: CoverageDay): string {
  if (day.clockIntervals < 48)
    return `clocks spring forward: ${day.clockIntervals} intervals, the skipped readings are not expected`;
  if (day.clockIntervals > 48)
    return `clocks fall back: ${day.clockIntervals} intervals, the repeated hour shares its rows (wall-clock data), so 48 are expected`;
  return '';
}

function coverageSection(data: ReportData): string {
  const days = data.coverage;
  if (days.length === 0)
    return '<p class="empty">agent_intervals has no rows yet: there is no day to show.</p>';
  const rows = days.map((day) => {
    const { result } = day;
    const missing = result.expected - result.present;
    const ranges = result.missing.map((range) => `<li>${e(range.start)} to ${e(range.end)}</li>`).join('');
    const note = [result.severity === 'no_data' ? 'no data at all: a load failure?' : '', dstNote(day)]
      .filter(Boolean)
      .map((text) => `<div class="note">${e(text)}</div>`)
      .join('');
    return [
      td(e(dayLabel(day.day)), 'day'),
      num(integer(result.expected)),
      num(integer(result.present)),
      num(missing > 0 ? `<strong>${integer(missing)}</strong>` : '0'),
      td(
        result.complete
          ? `<span class="ok">complete</span>${note}`
          : `<ul class="ranges">${ranges}</ul>${note}`,
      ),
    ];
  });
  return [
    figure(
      'coverage',
      coverageHeatmap(days),
      `Each row is a day in ${data.timeZone}, each cell a 30-minute interval by its wall-clock start. ` +
        'An interval has data when agent_intervals has a row for it (any extension).',
    ),
    `<div class="table-wrap" data-table="coverage">${table(
      ['day', 'expected', 'present', 'missing', 'missing intervals (start to end, end exclusive)'],
      rows,
      (index) => {
        const day = days[index];
        return day ? ` data-day="${day.day}"${day.result.complete ? '' : ' class="gap"'}` : '';
      },
    )}</div>`,
  ].join('\n');
}

function hoursSection(data: ReportData): string {
  if (data.coverage.length === 0) return '<p class="empty">No productive hours to show.</p>';
  const byDay = new Map(data.dailyHours.map((row) => [row.day, row]));
  const named = data.weeklyHours.filter((row) => row.extension !== null);
  const rest = data.weeklyHours.filter((row) => row.extension === null);
  const weeklyRows = [...named, ...rest].map((row) => [
    td(e(row.weekStart)),
    td(row.extension === null ? `<em>${e(`${row.extensions} other extensions`)}</em>` : e(row.extension)),
    num(hours(row.productiveHours)),
  ]);
  return [
    "<h3>The day's totals</h3>",
    figure(
      'daily-hours',
      dailyHoursChart(data.coverage, data.dailyHours),
      'Productive hours summed over every extension, per day.',
    ),
    `<details><summary>Numbers per day</summary>${table(
      ['day', 'productive hours', 'extensions', 'intervals with data'],
      data.coverage.map((day) => {
        const row = byDay.get(day.day);
        return [
          td(e(dayLabel(day.day))),
          num(hours(row?.productiveHours ?? 0)),
          num(integer(row?.extensions ?? 0)),
          num(integer(row?.intervalsWithData ?? 0)),
        ];
      }),
    )}</details>`,
    '<h3>Per week and extension</h3>',
    named.length === 0
      ? '<p class="empty">No weekly rows for these weeks.</p>'
      : figure(
          'weekly-hours',
          weeklyHoursChart(data.weeklyHours),
          `The ${new Set(named.map((row) => row.extension)).size} extensions with the most productive hours over ` +
            'the weeks shown (whole weeks, Monday to Sunday); the others are summed in the table.',
        ),
    `<details><summary>Numbers per week</summary>${table(['week of', 'extension', 'productive hours'], weeklyRows)}</details>`,
  ].join('\n');
}

function statusBadge(run: RunRow): string {
  const color = STATUS_COLORS[run.status] ?? '#9498a0';
  const title = run.status === 'RUNNING' ? ' title="started and not finished, or killed"' : '';
  return `<span class="badge" style="background:${color}"${title}>${e(run.status)}</span>`;
}

function runsSection(data: ReportData): string {
  if (data.runs.length === 0) return '<p class="empty">pipeline_runs is empty: nothing was run yet.</p>';
  const rows = data.runs.map((run) => [
    td(statusBadge(run)),
    td(`<code>${e(run.sourceObject)}</code><div class="note nowrap">${e(run.runId)}</div>`),
    td(e(run.startedAt), 'nowrap'),
    num(run.status === 'RUNNING' ? 'unfinished' : duration(run.durationMs)),
    num(integer(run.rowsRead)),
    num(integer(run.rowsLoaded)),
    num(integer(run.rowsRejected)),
    num(integer(run.intervalsTouched)),
    td(run.error ? `<span class="error">${e(run.error)}</span>` : ''),
  ]);
  return [
    figure(
      'runs',
      runsChart(data.runsByDay, RUN_CHART_DAYS),
      `Runs started per day (UTC), by status, on the latest ${RUN_CHART_DAYS} days with runs.`,
    ),
    `<div class="table-wrap" data-table="runs">${table(
      [
        'status',
        'object / run',
        'started (UTC)',
        'duration',
        'read',
        'loaded',
        'rejected',
        'intervals',
        'error',
      ],
      rows,
    )}</div>`,
    data.runs.length >= 100
      ? '<p class="note">The 100 latest runs, failed and unfinished first: agent-etl export runs lists them all.</p>'
      : '',
  ].join('\n');
}

function rejectsSection(data: ReportData): string {
  if (data.rejectsByReason.length === 0)
    return '<p class="empty">No rejected rows: every row read was loaded.</p>';
  return [
    figure(
      'rejects',
      rejectsChart(data.rejectsByReason),
      'Rejected rows by kind of reason (the refused value shown as "..."), across the lake.',
    ),
    '<div class="columns">',
    `<div data-table="reject-reasons"><h3>By reason</h3>${table(
      ['reason', 'rows', 'files'],
      data.rejectsByReason.map((row) => [
        td(e(row.reasonKind)),
        num(integer(row.rejectedRows)),
        num(integer(row.files)),
      ]),
    )}</div>`,
    `<div data-table="reject-files"><h3>By file</h3>${table(
      ['object', 'rows', 'first line'],
      data.rejectsByFile.map((row) => [
        td(`<code>${e(row.sourceObject)}</code>`),
        num(integer(row.rejectedRows)),
        num(integer(row.firstLine)),
      ]),
    )}</div>`,
    '</div>',
    `<h3>First examples</h3><div class="table-wrap" data-table="reject-examples">${table(
      ['reason', 'object', 'line', 'raw text'],
      data.rejectExamples.map((row) => [
        td(e(row.reason)),
        td(`<code>${e(row.sourceObject)}</code>`),
        num(integer(row.sourceLine)),
        td(`<code class="raw">${e(row.rawLine)}</code>`),
      ]),
    )}</div>`,
    '<p class="note">Every rejected row: agent-etl export rejects.</p>',
  ].join('\n');
}

function tiles(data: ReportData): string {
  const gapDays = data.coverage.filter((day) => !day.result.complete).length;
  const missing = data.coverage.reduce((sum, day) => sum + day.result.expected - day.result.present, 0);
  const runs = (status: string) =>
    data.runsByDay.filter((row) => row.status === status).reduce((sum, row) => sum + row.runs, 0);
  const failed = runs('FAILED');
  const running = runs('RUNNING');
  const rejected = data.rejectsByReason.reduce((sum, row) => sum + row.rejectedRows, 0);
  const tile = (label: string, value: number, of = '') =>
    `<div class="tile${value > 0 ? ' alert' : ''}"><div class="value">${integer(value)}${of}</div><div class="label">${e(label)}</div></div>`;
  return `<div class="tiles">${[
    tile('days with gaps', gapDays, `<span class="of"> of ${data.coverage.length}</span>`),
    tile('missing intervals', missing),
    tile('failed runs', failed),
    tile('unfinished runs', running),
    tile('rejected rows', rejected),
  ].join('')}</div>`;
}

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 ${FONT}; color: #1f2933; background: #f5f7fa; }
header, main { max-width: ${WIDTH + 60}px; margin: 0 auto; padding: 0 30px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.meta { color: #52606d; margin: 0 0 16px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 20px 24px; margin: 0 0 20px; }
nav a { margin-right: 14px; color: #2457c5; }
figure { margin: 0 0 12px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption, .note { color: #52606d; font-size: 12.5px; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; margin: 0 0 20px; }
.tile { background: #fff; border: 1px solid #dde3ea; border-left: 5px solid ${CELL_COLORS.present}; border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.tile.alert { border-left-color: ${CELL_COLORS.missing}; }
.tile .value { font-size: 24px; font-weight: 600; }
.tile .of { font-size: 14px; font-weight: 400; color: #52606d; }
.tile .label { color: #52606d; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.day, .nowrap { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
code.raw { white-space: pre-wrap; word-break: break-all; }
ul.ranges { margin: 0; padding: 0; list-style: none; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; color: #b21f33; }
.ok { color: #2f7a4a; }
.error { color: #b21f33; }
.badge { color: #fff; border-radius: 4px; padding: 1px 7px; font-size: 12px; font-weight: 600; }
.empty { color: #52606d; font-style: italic; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
details { margin: 4px 0 8px; }
summary { cursor: pointer; color: #2457c5; }
.table-wrap { overflow-x: auto; }
footer { max-width: ${WIDTH + 60}px; margin: 0 auto; padding: 0 30px 30px; color: #52606d; font-size: 12.5px; }
`;

export interface PageContext {
  /** What the page says it was made from (the lake directory, or an Athena workgroup). */
  readonly source: string;
  /** When it was made, an ISO 8601 instant. */
  readonly generatedAt: string;
}

function scheduleText(data: ReportData): string {
  if (!data.schedule) return 'open around the clock';
  return data.schedule
    .map((rule) => `${rule.days.join(', ')} ${clock(rule.open)}-${clock(rule.close)}`)
    .join('; ');
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The whole page: one HTML file, styles and SVG inline, nothing to fetch (the CSP forbids it too). */
export function renderPage(data: ReportData, context: PageContext): string {
  const range = data.range ? `${data.range.from} to ${data.range.to}` : 'no days';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Agent activity report, ${e(range)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Agent activity report</h1>
<p class="meta">${e(range)} · time zone ${e(data.timeZone)} · opening hours: ${e(scheduleText(data))} · from ${e(context.source)} · made ${e(context.generatedAt.slice(0, 19).replace('T', ' '))} UTC</p>
<nav><a href="#coverage">Coverage</a><a href="#hours">Productive hours</a><a href="#runs">Runs</a><a href="#rejects">Rejected rows</a></nav>
<p></p>
${tiles(data)}
</header>
<main>
<section id="coverage"><h2>Coverage</h2>
${coverageSection(data)}
</section>
<section id="hours"><h2>Productive hours</h2>
${hoursSection(data)}
</section>
<section id="runs"><h2>Runs</h2>
${runsSection(data)}
</section>
<section id="rejects"><h2>Rejected rows</h2>
${rejectsSection(data)}
</section>
</main>
<footer>Made by agent-etl report. Charts: Apache ECharts, rendered to SVG when the page was made.</footer>
</body>
</html>
`;
}
