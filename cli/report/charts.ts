import * as echarts from 'echarts';
import escapeHtml from 'escape-html';
import type { CellState, CoverageDay, DailyHours, RejectReason, RunsOnDay, WeeklyHours } from './data';

/**
 * Charts are Apache ECharts options rendered to SVG text on the server (`ssr: true`): no DOM, no
 * browser, no script in the page. See docs/report.md for why ECharts.
 */
/**
 * Without a canvas, ECharts sizes text from a built-in table of Helvetica widths; Arial and Liberation
 * Sans share those metrics, so legends and labels are laid out for the font the browser really uses.
 */
export const FONT = 'Helvetica, Arial, Liberation Sans, sans-serif';

export const CELL_COLORS: Record<CellState, string> = {
  present: '#4f9d69',
  missing: '#d7263d',
  closed: '#c9ced6',
  skipped: '#eef1f5',
};

const CELL_LABELS: Record<CellState, string> = {
  present: 'data',
  missing: 'missing',
  closed: 'outside opening hours',
  skipped: 'not on the clock (DST)',
};

export const STATUS_COLORS: Record<string, string> = {
  FAILED: '#d7263d',
  RUNNING: '#f4a259',
  SUCCEEDED: '#4f9d69',
};

const PALETTE = [
  '#4269d0',
  '#efb118',
  '#ff725c',
  '#6cc5b0',
  '#3ca951',
  '#ff8ab7',
  '#a463f2',
  '#97bbf5',
  '#9c6b4e',
  '#9498a0',
];

export const WIDTH = 1100;

function render(option: echarts.EChartsOption, height: number, description: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: FONT, color: '#1f2933' },
      aria: { enabled: true, label: { description } },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** `00:00` ... `23:30`: the wall-clock readings of a day, the heatmap's columns. */
const SLOT_LABELS = Array.from(
  { length: 48 },
  (_, slot) => `${String(Math.floor(slot / 2)).padStart(2, '0')}:${slot % 2 === 0 ? '00' : '30'}`,
);

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function dayLabel(day: string): string {
  return `${WEEKDAYS[new Date(`${day}T00:00:00Z`).getUTCDay()]} ${day}`;
}

/** Days down, the day's 48 readings across; a piecewise visual map colours each cell by its state. */
export function coverageHeatmap(days: readonly CoverageDay[]): string {
  const states: CellState[] = ['present', 'missing', 'closed', 'skipped'];
  const rowHeight = 22;
  const missingDays = days.filter((day) => !day.result.complete).length;
  return render(
    {
      grid: { left: 120, right: 20, top: 40, bottom: 40 },
      visualMap: {
        type: 'piecewise',
        orient: 'horizontal',
        top: 4,
        left: 114,
        itemWidth: 14,
        itemHeight: 14,
        itemSymbol: 'rect',
        dimension: 2,
        selectedMode: false,
        // A legend entry for each state the days show; the colours stay fixed by state.
        pieces: states
          .map((state, index) => ({ value: index, label: CELL_LABELS[state], color: CELL_COLORS[state] }))
          .filter((piece) => days.some((day) => day.cells.includes(states[piece.value] ?? 'present'))),
      },
      xAxis: {
        type: 'category',
        data: SLOT_LABELS,
        axisLabel: { interval: 3 },
        axisTick: { alignWithLabel: true, interval: 3 },
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: days.map((day) => dayLabel(day.day)),
        axisTick: { show: false },
      },
      series: [
        {
          type: 'heatmap',
          itemStyle: { borderColor: '#ffffff', borderWidth: 1 },
          data: days.flatMap((day, row) =>
            day.cells.map((cell, slot) =>
              cell === 'skipped'
                ? {
                    value: [slot, row, states.indexOf(cell)],
                    itemStyle: { borderColor: '#8a94a6', borderType: 'dashed' as const },
                  }
                : { value: [slot, row, states.indexOf(cell)] },
            ),
          ),
        },
      ],
    },
    90 + days.length * rowHeight,
    `Coverage heatmap: ${days.length} days, ${missingDays} with missing intervals.`,
  );
}

/** Productive hours per day over the range; a day without data shows as a zero bar. */
export function dailyHoursChart(days: readonly CoverageDay[], hours: readonly DailyHours[]): string {
  const byDay = new Map(hours.map((row) => [row.day, row.productiveHours]));
  return render(
    {
      grid: { left: 70, right: 20, top: 30, bottom: 50 },
      xAxis: {
        type: 'category',
        data: days.map((day) => dayLabel(day.day)),
        axisLabel: { interval: 0, rotate: days.length > 10 ? 30 : 0 },
      },
      yAxis: { type: 'value', name: 'productive hours', nameTextStyle: { align: 'left' } },
      series: [
        {
          type: 'bar',
          barMaxWidth: 48,
          itemStyle: { color: PALETTE[0] },
          data: days.map((day) => Math.round((byDay.get(day.day) ?? 0) * 100) / 100),
          label: { show: true, position: 'top', fontSize: 11 },
        },
      ],
    },
    280,
    `Productive hours per day, ${days.length} days.`,
  );
}

/** Characters of an axis label; a longer one is cut, and keeps its whole text as a tooltip. */
const LABEL_CHARS = 18;

function cutLabel(label: string): string {
  const characters = [...label];
  return characters.length > LABEL_CHARS ? `${characters.slice(0, LABEL_CHARS - 1).join('')}…` : label;
}

/**
 * Gives each cut label its whole text as an SVG `<title>`, which browsers show as a tooltip. ECharts
 * writes labels in category order, escaped as escape-html escapes them; labels cut to the same text get
 * their titles in that order.
 */
function withTitles(svg: string, labels: readonly string[]): string {
  let titled = svg;
  for (const label of labels) {
    const cut = cutLabel(label);
    if (cut === label) continue;
    const text = `>${escapeHtml(cut)}</text>`;
    titled = titled.replace(text, () => `>${escapeHtml(cut)}<title>${escapeHtml(label)}</title></text>`);
  }
  return titled;
}

/** The top extensions' hours, one bar per week; the rest is summed in the table below the chart. */
export function weeklyHoursChart(rows: readonly WeeklyHours[]): string {
  const named = rows.filter((row) => row.extension !== null);
  const weeks = [...new Set(named.map((row) => row.weekStart))].sort();
  const totals = new Map<string, number>();
  for (const row of named)
    totals.set(row.extension ?? '', (totals.get(row.extension ?? '') ?? 0) + row.productiveHours);
  const extensions = [...totals.keys()].sort(
    (a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b),
  );
  const hours = new Map(named.map((row) => [`${row.weekStart}|${row.extension}`, row.productiveHours]));
  const labels = extensions.map((extension) => `ext. ${extension}`);
  const svg = render(
    {
      grid: { left: 130, right: 50, top: 40, bottom: 50 },
      legend: { top: 4, left: 124 },
      xAxis: { type: 'value', name: 'productive hours', nameLocation: 'middle', nameGap: 28 },
      yAxis: {
        type: 'category',
        inverse: true,
        data: labels,
        // An extension is whatever the file said, 5,000 characters included: the plot keeps its width.
        axisLabel: { formatter: (label: string) => cutLabel(label) },
      },
      series: weeks.map((week) => ({
        name: `week of ${week}`,
        type: 'bar' as const,
        barMaxWidth: 18,
        // No bar (and no label) for a week the extension has no row in.
        data: extensions.map((extension) => {
          const value = hours.get(`${week}|${extension}`);
          return value === undefined ? null : Math.round(value * 100) / 100;
        }),
        label: { show: weeks.length <= 2, position: 'right' as const, fontSize: 11 },
      })),
    },
    80 + extensions.length * Math.max(24, weeks.length * 14),
    `Productive hours per week of the ${extensions.length} extensions that worked most.`,
  );
  return withTitles(svg, labels);
}

/** Runs started per day (UTC), stacked by status. */
export function runsChart(rows: readonly RunsOnDay[], lastDays: number): string {
  const days = [...new Set(rows.map((row) => row.day))].sort().slice(-lastDays);
  const statuses = [...new Set(rows.map((row) => row.status))].sort();
  const runs = new Map(rows.map((row) => [`${row.day}|${row.status}`, row.runs]));
  return render(
    {
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      legend: { top: 4, right: 20 },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', name: 'runs', minInterval: 1, nameLocation: 'middle', nameGap: 36 },
      series: statuses.map((status) => ({
        name: status,
        type: 'bar' as const,
        stack: 'runs',
        barMaxWidth: 48,
        itemStyle: { color: STATUS_COLORS[status] ?? '#9498a0' },
        data: days.map((day) => runs.get(`${day}|${status}`) ?? 0),
      })),
    },
    220,
    `Pipeline runs per day by status, ${days.length} days.`,
  );
}

/** Rejected rows per kind of reason, largest first. */
export function rejectsChart(rows: readonly RejectReason[]): string {
  return render(
    {
      grid: { left: 330, right: 60, top: 20, bottom: 30 },
      xAxis: { type: 'value', name: 'rows', minInterval: 1 },
      yAxis: {
        type: 'category',
        inverse: true,
        data: rows.map((row) => row.reasonKind),
        axisLabel: { width: 310, overflow: 'truncate' },
      },
      series: [
        {
          type: 'bar',
          barMaxWidth: 22,
          itemStyle: { color: '#f4a259' },
          data: rows.map((row) => row.rejectedRows),
          label: { show: true, position: 'right', fontSize: 11 },
        },
      ],
    },
    60 + rows.length * 30,
    `Rejected rows by reason, ${rows.length} reasons.`,
  );
}
