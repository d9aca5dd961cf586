import { weeklyHoursChart } from '../../cli/report/charts';
import { loadReportData } from '../../cli/report/data';
import { cutText } from '../../local/record-lines';
import { runFile } from '../../local/runner';
import { RECORD_LIMITS } from '../../workflow/input-contract';
import { withLake, writeCsv } from '../support/lake';

const OPTIONS = { timeZone: 'UTC', schedule: undefined };

describe('rejected rows in the report', () => {
  test('values holding quotes still group into one row per kind of reason', async () => {
    await withLake(async (lake, dir) => {
      // Each Done On below holds a quote (doubled inside a quoted CSV field), each a different value.
      const rows = Array.from({ length: 40 }, (_, i) => `"2024-13-${i} ""x"" 10:00",${100 + i},ONLINE,`);
      const rest = [
        '2024-11-05 10:00:00,111,ONLINE,',
        '"1999-01-01 ""y"" 10:00",112,ONLINE,',
        ',113,ONLINE,',
      ];
      await runFile(lake, writeCsv(dir, 'quotes.csv', [...rows, ...rest]));
      const data = await loadReportData(lake, OPTIONS);
      expect(data.rejectsByReason.map((row) => [row.reasonKind, row.rejectedRows])).toEqual([
        ['Done On "..." is not an accepted timestamp', 41],
        ['Done On empty is not an accepted timestamp', 1],
      ]);
      // The examples are grouped the same way: at most three of the one kind.
      expect(
        data.rejectExamples.filter((row) => row.reasonKind === 'Done On "..." is not an accepted timestamp'),
      ).toHaveLength(3);
    });
  });

  test('a reason quoting a value as long as a record is cut as raw_line is', async () => {
    await withLake(async (lake, dir) => {
      const value = `2024-11-05 "${'é'.repeat(300_000)}`;
      const line = `"${value.replaceAll('"', '""')}",111,ONLINE,`;
      await runFile(lake, writeCsv(dir, 'long.csv', ['2024-11-05 10:00:00,110,ONLINE,', line]));
      const [row] = await lake.query('select reason, raw_line from rejected_rows');
      const limit = RECORD_LIMITS.maxRawTextBytes;
      expect(row?.reason).toBe(`Done On "${cutText(value, limit)}" is not an accepted timestamp`);
      // 12 + 300,000 x 2 bytes of value, cut to 65,536 = 12 + 32,762 x 2 (a character is never split).
      expect(String(row?.reason)).toMatch(
        /^Done On "2024-11-05 "é{32762}… \[cut: 600012 bytes in all\]" is not an accepted timestamp$/,
      );
      expect(row?.raw_line).toBe(cutText(line, limit));
      const data = await loadReportData(lake, OPTIONS);
      expect(data.rejectsByReason.map((kind) => kind.reasonKind)).toEqual([
        'Done On "..." is not an accepted timestamp',
      ]);
    });
  });
});

describe('the weekly chart', () => {
  const long = `9${'8'.repeat(4_999)}`;
  const rows = [
    { weekStart: '2024-11-04', extension: '1001', productiveHours: 10, extensions: 1 },
    { weekStart: '2024-11-04', extension: long, productiveHours: 8, extensions: 1 },
    { weekStart: '2024-11-04', extension: `<b>&${'z'.repeat(40)}`, productiveHours: 6, extensions: 1 },
  ];

  test('keeps its plot width whatever an extension is; a cut label keeps its whole text as a tooltip', () => {
    const svg = weeklyHoursChart(rows);
    // The bars start where the labels end, at a fixed place, not after a 5,000-character label.
    const starts = [...svg.matchAll(/<path d="M(\d+(?:\.\d+)?) [^"]*" fill="#4269d0"/g)].map((m) =>
      Number(m[1]),
    );
    expect(starts).toHaveLength(3);
    for (const x of starts) expect(x).toBeLessThan(200);
    expect(svg).toContain('>ext. 1001</text>');
    // 17 characters and an ellipsis.
    expect(svg).toContain(`>ext. 9${'8'.repeat(11)}…<title>ext. ${long}</title></text>`);
    expect(svg).toContain(
      `>ext. &lt;b&gt;&amp;${'z'.repeat(8)}…<title>ext. &lt;b&gt;&amp;${'z'.repeat(40)}</title></text>`,
    );
    expect(svg).not.toContain('<b>');
  });
});
