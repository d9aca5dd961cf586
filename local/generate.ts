import { closeSync, openSync, writeSync } from 'node:fs';

export interface GenerateOptions {
  /** Number of agent extensions (101, 102, ...). */
  readonly extensions: number;
  /** Number of consecutive days. */
  readonly days: number;
  /** First day, YYYY-MM-DD. */
  readonly start: string;
  readonly seed: number;
  /** Stop after this many events (the bench asks for an exact size). */
  readonly maxEvents?: number;
}

export interface GenerateResult {
  readonly events: number;
  readonly bytes: number;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

/** `M/D/YYYY h:mm:ss AM`, the contact center's export format, for a day and a second of it (may pass midnight). */
function formatter(startUtcMs: number) {
  const dayPrefixes = new Map<number, string>();
  const pad = (n: number) => (n < 10 ? `0${n}` : String(n));
  return (dayIndex: number, second: number): string => {
    const day = dayIndex + Math.floor(second / DAY);
    const inDay = second - Math.floor(second / DAY) * DAY;
    let prefix = dayPrefixes.get(day);
    if (prefix === undefined) {
      const date = new Date(startUtcMs + day * DAY * 1000);
      prefix = `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()} `;
      dayPrefixes.set(day, prefix);
    }
    const hour = Math.floor(inDay / 3600);
    const minute = Math.floor((inDay % 3600) / 60);
    const sec = inDay % 60;
    const hour12 = hour % 12 === 0 ? 12 : hour % 12;
    return `${prefix}${hour12}:${pad(minute)}:${pad(sec)} ${hour < 12 ? 'AM' : 'PM'}`;
  };
}

interface Shift {
  readonly start: number;
  readonly length: number;
}

/**
 * One agent's day: login, online, a morning break, lunch, back-office time, an afternoon break,
 * the odd remote session (REMVCEON), logout. Night agents start late and work past midnight.
 */
function shiftEvents(rnd: () => number, shift: Shift): [number, string, string][] {
  const events: [number, string, string][] = [];
  let t = shift.start;
  const end = shift.start + shift.length;
  const at = (action: string, details = '') => events.push([t, action, details]);
  at('LOGIN');
  t += 30 + Math.floor(rnd() * 240);
  at('ONLINE');
  const pauses: [string, string, number][] = [
    ['OFFLINE', 'Break', 10 + rnd() * 10],
    ['OFFLINE', 'Lunch', 30 + rnd() * 30],
    ['OFFLINE', 'Backoffice', 15 + rnd() * 45],
    ['OFFLINE', 'Break', 10 + rnd() * 10],
  ];
  if (rnd() < 0.5) pauses.splice(2, 0, ['OFFLINE', 'Meeting', 20 + rnd() * 40]);
  if (rnd() < 0.6) pauses.push(['OFFLINE', 'Backoffice', 10 + rnd() * 30]);
  const gap = (end - t) / (pauses.length + 1);
  for (const [action, details, minutes] of pauses) {
    t += Math.floor(gap * (0.6 + rnd() * 0.4));
    if (rnd() < 0.25) {
      at('REMVCEON');
      t += Math.floor((5 + rnd() * 25) * MINUTE);
    }
    at(action, details);
    t += Math.floor(minutes * MINUTE);
    at('ONLINE');
  }
  t = Math.max(t + 60, end - Math.floor(rnd() * 600));
  at('LOGOUT');
  return events;
}

/** Writes a realistic, deterministic agent-event CSV. */
export function generateEvents(file: string, options: GenerateOptions): GenerateResult {
  const startMs = Date.parse(`${options.start}T00:00:00Z`);
  if (Number.isNaN(startMs)) throw new Error(`--start must be YYYY-MM-DD, got ${options.start}`);
  const rnd = random(options.seed);
  const format = formatter(startMs);
  const limit = options.maxEvents ?? Number.POSITIVE_INFINITY;
  const fd = openSync(file, 'w');
  let buffer = 'Done On,Extension,Action,Details\n';
  let bytes = 0;
  let events = 0;
  const flush = () => {
    bytes += writeSync(fd, buffer);
    buffer = '';
  };
  try {
    const nightAgent = Array.from({ length: options.extensions }, () => rnd() < 0.15);
    for (let day = 0; day < options.days && events < limit; day++) {
      const weekday = new Date(startMs + day * DAY * 1000).getUTCDay();
      for (let agent = 0; agent < options.extensions && events < limit; agent++) {
        const works = weekday === 0 || weekday === 6 ? rnd() < 0.2 : rnd() < 0.93;
        if (!works) continue;
        const start = nightAgent[agent]
          ? 21 * 3600 + Math.floor(rnd() * 7200)
          : 6 * 3600 + Math.floor(rnd() * 4 * 3600);
        const shift = { start, length: Math.floor((7.5 + rnd() * 2) * 3600) };
        const extension = String(101 + agent);
        for (const [second, action, details] of shiftEvents(rnd, shift)) {
          if (events >= limit) break;
          buffer += `${format(day, second)},${extension},${action},${details}\n`;
          events++;
        }
        if (buffer.length > 1 << 20) flush();
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { events, bytes };
}
