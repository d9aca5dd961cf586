import { open } from 'node:fs/promises';
import { WHITESPACE } from '../workflow/input-contract';

/** What the loader needs to know of a file before trusting DuckDB's reader with it. */
export interface LineMeasures {
  /** Physical lines; a last line without a line break counts too. */
  readonly lines: number;
  /** The longest line, in bytes. */
  readonly longest: number;
  /**
   * Whether some quote is not where RFC 4180 puts one (opening a field, closing it before a comma or
   * a line end, or doubled inside it). DuckDB's reader accepts some such text (`a""b`, `"x" ,`) that
   * the splitter rejects, so such a file is left to the splitter.
   */
  readonly irregularQuotes: boolean;
  /**
   * Whether the file holds a whitespace character of the contract's set other than the space and the
   * line break: TAB, VT, FF, a CR that is not before a LF, or a non-ASCII one. Without one, a field of a
   * record on one line can start or end with whitespace only by a space.
   */
  readonly otherWhitespace: boolean;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The contract's whitespace characters other than the space and LF as UTF-8 bytes, by their first
 * byte. A CR counts only where no LF follows it (a CR before a LF ends a line): it stands for itself
 * and the LF that must not follow.
 */
const OTHER_WHITESPACE = (() => {
  const byFirst = new Map<number, Buffer[]>();
  for (const character of WHITESPACE) {
    if (character === ' ' || character === '\n') continue;
    const bytes = character === '\r' ? Buffer.from([CR, LF]) : Buffer.from(character);
    byFirst.set(bytes[0] as number, [...(byFirst.get(bytes[0] as number) ?? []), bytes]);
  }
  return byFirst;
})();
/** The bytes a character of OTHER_WHITESPACE may still need after a chunk's last byte. */
const REACH = Math.max(...[...OTHER_WHITESPACE.values()].flat().map((bytes) => bytes.length)) - 1;

/**
 * Whether a character of OTHER_WHITESPACE starts at `at`; undefined when `bytes` ends before that can
 * be told.
 */
function otherWhitespaceAt(bytes: Buffer, at: number): boolean | undefined {
  let short = false;
  for (const sequence of OTHER_WHITESPACE.get(bytes[at] as number) ?? []) {
    if (at + sequence.length > bytes.length) {
      short = true;
    } else if (sequence[0] === CR) {
      if (bytes[at + 1] !== LF) return true;
    } else if (sequence.every((byte, i) => bytes[at + i] === byte)) {
      return true;
    }
  }
  return short ? undefined : false;
}

/**
 * Looks for OTHER_WHITESPACE in a file fed chunk by chunk: each byte one of them starts with is found
 * by indexOf (for a file of ASCII text with LF line ends, eight passes at memchr's speed), and a
 * character cut by a chunk's end is looked at again with the next chunk's first bytes.
 */
export class WhitespaceScan {
  private tail: Buffer = Buffer.alloc(0);
  private seen = false;

  feed(chunk: Buffer): void {
    if (this.seen || chunk.length === 0) return;
    if (this.tail.length > 0) {
      const joined = Buffer.concat([this.tail, chunk.subarray(0, REACH)]);
      for (let at = 0; at < this.tail.length && !this.seen; at++) {
        this.seen = otherWhitespaceAt(joined, at) === true;
      }
    }
    for (const first of OTHER_WHITESPACE.keys()) {
      for (let at = chunk.indexOf(first); at !== -1 && !this.seen; at = chunk.indexOf(first, at + 1)) {
        this.seen = otherWhitespaceAt(chunk, at) === true;
      }
    }
    this.tail = Buffer.from(Buffer.concat([this.tail, chunk.subarray(-REACH)]).subarray(-REACH));
  }

  /** Whether the file held one; a character cut short by the file's end counts as one. */
  end(): boolean {
    for (let at = 0; at < this.tail.length && !this.seen; at++) {
      this.seen = otherWhitespaceAt(this.tail, at) !== false;
    }
    return this.seen;
  }
}

/**
 * Measures a file in one pass: lines, the longest line, whether its quoting is irregular, and whether
 * it holds whitespace other than the space.
 */
export async function measureLines(path: string): Promise<LineMeasures> {
  const file = await open(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let lines = 0;
  let longest = 0;
  let lineStart = 0;
  let offset = 0;
  let last = LF;
  let inQuotes = false;
  // A quote ending a chunk inside a quoted field: the next chunk's first byte tells what it was.
  let pendingQuote = false;
  let irregularQuotes = false;
  const whitespace = new WhitespaceScan();
  const closes = (next: number | undefined) =>
    next === undefined || next === COMMA || next === CR || next === LF;
  try {
    for (
      let { bytesRead } = await file.read(buffer);
      bytesRead > 0;
      { bytesRead } = await file.read(buffer)
    ) {
      const chunk = buffer.subarray(0, bytesRead);
      whitespace.feed(chunk);
      for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
        lines++;
        longest = Math.max(longest, offset + at - lineStart);
        lineStart = offset + at + 1;
      }
      let from = 0;
      if (pendingQuote) {
        pendingQuote = false;
        if (chunk[0] === QUOTE) from = 1;
        else if (closes(chunk[0])) inQuotes = false;
        else irregularQuotes = true;
      }
      for (
        let at = chunk.indexOf(QUOTE, from);
        at !== -1 && !irregularQuotes;
        at = chunk.indexOf(QUOTE, at + 1)
      ) {
        if (!inQuotes) {
          const before = at === 0 ? last : chunk[at - 1];
          if (before !== COMMA && before !== LF) irregularQuotes = true;
          inQuotes = true;
        } else if (at === chunk.length - 1) {
          pendingQuote = true;
        } else if (chunk[at + 1] === QUOTE) {
          at++;
        } else if (closes(chunk[at + 1])) {
          inQuotes = false;
        } else {
          irregularQuotes = true;
        }
      }
      offset += bytesRead;
      last = chunk[bytesRead - 1] ?? last;
    }
  } finally {
    await file.close();
  }
  return {
    lines: lines + (last === LF ? 0 : 1),
    longest: Math.max(longest, offset - lineStart),
    irregularQuotes: irregularQuotes || inQuotes,
    otherWhitespace: whitespace.end(),
  };
}

/** One physical line: its number (1-based), its bytes without the line break (`\n`, and a `\r` before it). */
interface PhysicalLine {
  readonly number: number;
  readonly bytes: Buffer;
}

async function* physicalLines(path: string): AsyncGenerator<PhysicalLine> {
  const file = await open(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let carry: Buffer[] = [];
  let number = 0;
  const line = (parts: Buffer[]): PhysicalLine => {
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    number++;
    return { number, bytes: bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes };
  };
  try {
    for (
      let { bytesRead } = await file.read(buffer);
      bytesRead > 0;
      { bytesRead } = await file.read(buffer)
    ) {
      const chunk = Buffer.from(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, start)) {
        yield line([...carry, chunk.subarray(start, at)]);
        carry = [];
        start = at + 1;
      }
      if (start < chunk.length) carry.push(chunk.subarray(start));
    }
    if (carry.length > 0) yield line(carry);
  } finally {
    await file.close();
  }
}

/** A data record as the splitter sees it: its fields, or the reason it has none. */
export interface SplitRecord {
  /** The physical line the record starts on. */
  readonly line: number;
  readonly fields?: string[];
  readonly reason?: string;
  /** The record as written (lines joined with `\n`), cut at the contract's raw-text limit. */
  readonly raw: string;
}

export interface SplitLimits {
  readonly maxRecordBytes: number;
  readonly maxRawTextBytes: number;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT = new TextDecoder('utf-8');

/** Text cut to at most `limit` UTF-8 bytes on a character boundary, with a marker saying how long it was. */
export function cutText(text: string, limit: number): string {
  const size = Buffer.byteLength(text);
  if (size <= limit) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const width = Buffer.byteLength(char);
    if (bytes + width > limit) break;
    bytes += width;
    end += char.length;
  }
  return `${text.slice(0, end)}… [cut: ${size} bytes in all]`;
}

function countQuotes(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(0x22); at !== -1; at = bytes.indexOf(0x22, at + 1)) count++;
  return count;
}

/**
 * The fields of one record's text (RFC 4180: a field is either wholly quoted, with `""` for a quote, or
 * holds no quote at all), or why it is not a record.
 */
export function parseRecord(text: string): { fields: string[] } | { reason: string } {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (text[at] === '"') {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) return { reason: 'unterminated quoted field' };
        value += text.slice(from, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      fields.push(value);
      if (at < text.length && text[at] !== ',') return { reason: 'text after a closing quote' };
    } else {
      const comma = text.indexOf(',', at);
      const value = text.slice(at, comma === -1 ? text.length : comma);
      if (value.includes('"')) return { reason: 'a quote inside an unquoted field' };
      fields.push(value);
      at = comma === -1 ? text.length : comma;
    }
    if (at >= text.length) return { fields };
    at++;
  }
}

/**
 * The data records of a CSV file, after its header line, with the physical line each starts on. The
 * rule (the Glue job's `split_records` is the same): lines end at `\n` (a `\r` before it is dropped);
 * empty lines are skipped; a line with an odd number of quotes opens a quoted field, and the following
 * lines join it until the quotes balance, up to `maxRecordBytes`. If the joined text is not one record
 * with `width` fields, only its first line is rejected and reading goes on at the next line, so a stray
 * quote costs its own line, not the rest of the file.
 */
export async function* splitRecords(
  path: string,
  width: number,
  limits: SplitLimits,
): AsyncGenerator<SplitRecord> {
  const source = physicalLines(path);
  const pending: PhysicalLine[] = [];
  const take = async (): Promise<PhysicalLine | undefined> =>
    pending.shift() ?? (await source.next()).value ?? undefined;
  const decode = (line: PhysicalLine): string | undefined => {
    try {
      return UTF8.decode(line.bytes);
    } catch {
      return undefined;
    }
  };
  const raw = (text: string) => cutText(text, limits.maxRawTextBytes);
  const record = (line: number, text: string): SplitRecord => {
    const parsed = parseRecord(text);
    if ('reason' in parsed) return { line, reason: parsed.reason, raw: raw(text) };
    if (parsed.fields.length !== width) {
      return {
        line,
        reason: `wrong number of fields: expected ${width}, got ${parsed.fields.length}`,
        raw: raw(text),
      };
    }
    return { line, fields: parsed.fields, raw: raw(text) };
  };

  await take(); // the header, read by the caller
  for (let line = await take(); line; line = await take()) {
    if (line.bytes.length === 0) continue;
    const text = decode(line);
    if (text === undefined) {
      yield { line: line.number, reason: 'not UTF-8 text', raw: raw(LENIENT.decode(line.bytes)) };
      continue;
    }
    if (line.bytes.length > limits.maxRecordBytes) {
      yield {
        line: line.number,
        reason: `record longer than ${limits.maxRecordBytes} bytes`,
        raw: raw(text),
      };
      continue;
    }
    if (countQuotes(line.bytes) % 2 === 0) {
      yield record(line.number, text);
      continue;
    }
    const joined: PhysicalLine[] = [];
    const texts = [text];
    let bytes = line.bytes.length;
    let open = true;
    while (open) {
      const next = await take();
      if (!next) break;
      joined.push(next);
      const nextText = decode(next);
      bytes += 1 + next.bytes.length;
      if (nextText === undefined || bytes > limits.maxRecordBytes) break;
      texts.push(nextText);
      if (countQuotes(next.bytes) % 2 === 1) open = false;
    }
    const whole = open ? undefined : record(line.number, texts.join('\n'));
    if (whole?.fields) {
      yield whole;
      continue;
    }
    pending.unshift(...joined);
    yield record(line.number, text);
  }
}
