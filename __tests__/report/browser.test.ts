import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { runCli as cli } from '../support/cli';
import { removeDir, tempDir } from '../support/lake';
import { type Browser, CHROMIUM, launchChromium } from './browser';
import {
  BAD_ROWS,
  buildFixtureLake,
  COMPLETE_DAYS,
  GAP_DAY,
  GAP_RANGES,
  KILLED_OBJECT,
  REFUSED_FILE,
  REJECTS_FILE,
} from './fixture';

/** Where the test leaves its screenshot, for a person (or CI's artifacts) to look at. */
const SCREENSHOT = join(tmpdir(), 'agent-etl-report.png');

let dir: string;
let reportPath: string;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const consoleMessages: string[] = [];
const pageErrors: string[] = [];
let loadMs: number;

beforeAll(async () => {
  statSync(CHROMIUM); // fails with ENOENT naming the path when Debian's chromium is not installed
  dir = tempDir('agent-etl-report-');
  const lake = await buildFixtureLake(dir);
  reportPath = join(dir, 'report.html');
  const result = await cli(['report', '--lake', lake, '--out', reportPath]);
  expect(result).toMatchObject({ code: 0, stdout: `${reportPath}\n`, stderr: '' });

  browser = await launchChromium();
  browser.context.on('request', (request) => requests.push(request.url()));
  page = await browser.context.newPage();
  page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });
  // From navigation start to the end of the load event, as the page's own Navigation Timing entry says.
  loadMs = Number(
    await page.evaluate(
      "(() => { const [n] = performance.getEntriesByType('navigation'); return n ? n.loadEventEnd - n.startTime : Infinity; })()",
    ),
  );
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  removeDir(dir);
});

describe('the report in headless Chromium', () => {
  test('opens from disk with no request but the file itself, no console message and no error', () => {
    expect(requests).toEqual([pathToFileURL(reportPath).href]);
    expect(consoleMessages).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test('renders in under a second and is one small file', () => {
    expect(loadMs).toBeLessThan(1000);
    expect(statSync(reportPath).size).toBeLessThan(2 * 1024 * 1024);
  });

  test('every chart is an SVG with marks drawn', async () => {
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => ({
        name: figure.getAttribute('data-chart'),
        marks: figure.querySelectorAll('svg path, svg rect').length,
        width: figure.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    expect(charts.map((chart) => chart.name)).toEqual([
      'coverage',
      'daily-hours',
      'weekly-hours',
      'runs',
      'rejects',
    ]);
    for (const chart of charts) {
      expect(chart.marks).toBeGreaterThan(3);
      expect(chart.width).toBeGreaterThan(600);
    }
  });

  test('the heatmap has a cell per interval of the three days and draws the five missing ones red', async () => {
    const fills = await page.$$eval('figure[data-chart="coverage"] svg path', (paths) =>
      paths.map((path) => path.getAttribute('fill')),
    );
    const count = (color: string) => fills.filter((fill) => fill === color).length;
    // One legend swatch per colour besides the cells: 3 days x 48 intervals, 5 of them missing.
    expect(count('#d7263d')).toBe(5 + 1);
    expect(count('#4f9d69')).toBe(3 * 48 - 5 + 1);
  });

  test('the gap day lists its missing ranges; the other days read complete', async () => {
    const gap = page.locator(`tr[data-day="${GAP_DAY}"]`);
    await expect(gap.isVisible()).resolves.toBe(true);
    expect(await gap.getAttribute('class')).toBe('gap');
    expect(await gap.locator('ul.ranges li').allTextContents()).toEqual(GAP_RANGES);
    expect(await gap.locator('td.num').allTextContents()).toEqual(['48', '43', '5']);
    for (const day of COMPLETE_DAYS) {
      expect(await page.locator(`tr[data-day="${day}"] td`).last().textContent()).toBe('complete');
    }
    expect(await page.locator('.tile').first().textContent()).toContain('1 of 3');
  });

  test('runs: the failed run first, then the unfinished one, then the successes', async () => {
    const rows = await page
      .locator('[data-table="runs"] tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.querySelector('.badge')?.textContent, tr.querySelector('code')?.textContent]),
      );
    expect(rows.slice(0, 2)).toEqual([
      ['FAILED', `bronze/${REFUSED_FILE}`],
      ['RUNNING', KILLED_OBJECT],
    ]);
    expect(rows.slice(2).map(([status]) => status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await page.locator('[data-table="runs"] tbody tr').first().textContent()).toContain(
      'missing required column Details',
    );
  });

  test('rejected rows show as text, markup included, never as markup', async () => {
    expect(await page.locator('[data-table="reject-files"] tbody tr').allTextContents()).toEqual([
      `bronze/${REJECTS_FILE}23`,
    ]);
    expect(await page.locator('[data-table="reject-examples"] code.raw').allTextContents()).toEqual(
      expect.arrayContaining(BAD_ROWS),
    );
    expect(await page.locator('main img, main script').count()).toBe(0);
  });

  test('the screenshot is saved', () => {
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280);
  });
});
