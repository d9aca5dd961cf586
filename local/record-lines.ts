import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse';

/** Physical lines in a file; a last line without a line break counts too. */
export async function countLines(path: string): Promise<number> {
  const file = await open(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let lines = 0;
  let last = 0x0a;
  try {
    for (
      let { bytesRead } = await file.read(buffer);
      bytesRead > 0;
      { bytesRead } = await file.read(buffer)
    ) {
      const chunk = buffer.subarray(0, bytesRead);
      for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
      last = chunk[bytesRead - 1] ?? last;
    }
  } finally {
    await file.close();
  }
  return lines + (last === 0x0a ? 0 : 1);
}

function lineBreaks(fields: readonly string[]): number {
  let breaks = 0;
  for (const field of fields)
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) breaks++;
  return breaks;
}

/** Where each data record starts, split by whether it has the header's number of fields. */
export interface RecordLines {
  readonly wellFormed: number[];
  readonly wrongFieldCount: number[];
}

/**
 * The line each data record starts on, in file order, for files whose records do not each take one
 * line (quoted line breaks, blank lines). Slow (a CSV parse in JavaScript), so only used for those.
 * Undefined when the file is not CSV this parser can follow.
 */
export async function recordStartLines(path: string): Promise<RecordLines | undefined> {
  const lines: RecordLines = { wellFormed: [], wrongFieldCount: [] };
  const records = createReadStream(path).pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  let width: number | undefined;
  try {
    for await (const { record, info } of records as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (width === undefined) {
        width = record.length;
        continue;
      }
      (record.length === width ? lines.wellFormed : lines.wrongFieldCount).push(
        info.lines - lineBreaks(record),
      );
    }
  } catch {
    return undefined;
  }
  return lines;
}
