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
  /**
   * A 24/7 center: three desk agents (the extensions after the others) cover 00:00-08:00, 08:00-16:00
   * and 16:00-24:00 every day, and no event falls after the last day.
   */
  readonly aroundTheClock?: boolean;
  /** A phone-system outage: every agent on shift is logged out at `start` and back in `minutes` later. */
  readonly outage?: { readonly start: string; readonly minutes: number };
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

/** A desk agent's shift: logged in and online from start to end (seconds from the first day's midnight). */
function deskShift(start: number, end: number): [number, string, string][] {
  return [
    [start, 'LOGIN', ''],
    [start + 30, 'ONLINE', ''],
    [end, 'LOGOUT', ''],
  ];
}

/**
 * One agent's events with an outage applied: none inside `[from, to + 30 s)`; an agent on shift at
 * `from` is logged out then, and logged back in (and online) at `to` when the shift goes on.
 */
function withOutage(
  events: [number, string, string][],
  from: number,
  to: number,
): [number, string, string][] {
  const first = events[0]?.[0] ?? 0;
  const last = events.at(-1)?.[0] ?? 0;
  if (last < from || first >= to) return events;
  const back: [number, string, string][] = [
    [to, 'LOGIN', ''],
    [to + 30, 'ONLINE', ''],
  ];
  return [
    ...events.filter(([second]) => second < from),
    ...(first < from ? [[from, 'LOGOUT', ''] as [number, string, string]] : []),
    ...(last > to + 30 ? back : []),
    ...events.filter(([second]) => second >= to + 30),
  ];
}

const OUTAGE_START = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2})$/;

/** Seconds from the first day's midnight to the outage's start and end. */
function outageWindow(startMs: number, outage: { start: string; minutes: number }): [number, number] {
  const match = OUTAGE_START.exec(outage.start);
  const at = match ? Date.parse(`${match[1]}T${match[2]}:${match[3]}:00Z`) : Number.NaN;
  if (
    Number.isNaN(at) ||
    new Date(at).toISOString().slice(0, 16) !== `${match?.[1]}T${match?.[2]}:${match?.[3]}`
  )
    throw new Error(`the outage start must be 'YYYY-MM-DD HH:MM', got '${outage.start}'`);
  const from = (at - startMs) / 1000;
  return [from, from + outage.minutes * MINUTE];
}

/** Writes a realistic, deterministic agent-event CSV. */
export function generateEvents(file: string, options: GenerateOptions): GenerateResult {
  const startMs = Date.parse(`${options.start}T00:00:00Z`);
  if (Number.isNaN(startMs) || new Date(startMs).toISOString().slice(0, 10) !== options.start)
    throw new Error(`--start must be a calendar day YYYY-MM-DD, got ${options.start}`);
  const [outageFrom, outageTo] = options.outage
    ? outageWindow(startMs, options.outage)
    : [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const end = options.aroundTheClock ? options.days * DAY : Number.POSITIVE_INFINITY;
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
  const write = (extension: string, shift: [number, string, string][]) => {
    for (const [second, action, details] of withOutage(shift, outageFrom, outageTo)) {
      if (events >= limit || second >= end) break;
      buffer += `${format(0, second)},${extension},${action},${details}\n`;
      events++;
    }
    if (buffer.length > 1 << 20) flush();
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
        write(
          String(101 + agent),
          shiftEvents(rnd, shift).map(([second, action, details]) => [day * DAY + second, action, details]),
        );
      }
      if (options.aroundTheClock) {
        for (let desk = 0; desk < 3; desk++) {
          const from = day * DAY + desk * 8 * 3600;
          // The last desk logs out a second before midnight, so no day gets a lone event.
          write(
            String(101 + options.extensions + desk),
            deskShift(from, from + 8 * 3600 - (desk === 2 ? 1 : 0)),
          );
        }
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { events, bytes };
}
