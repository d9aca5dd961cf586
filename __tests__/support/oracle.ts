/**
 * An independent, deliberately plain statement of the productive-time rule, used only to check the
 * SQL on generated data: walk each extension's events in order, give each span to the 30-minute
 * intervals it crosses, cap at 0.5 h. It shares no code with sql/ or local/.
 */
export interface OracleEvent {
  readonly at: number; // epoch milliseconds of the naive wall-clock time, read as UTC
  readonly extension: string;
  readonly action: string;
  readonly details: string;
}

const HALF_HOUR = 30 * 60 * 1000;

/** `M/D/YYYY h:mm:ss AM` -> epoch ms (the generator's format). */
export function parseUsTimestamp(text: string): number {
  const match = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/.exec(text.trim());
  if (!match) throw new Error(`unexpected timestamp ${text}`);
  const [, month, day, year, hour, minute, second, half] = match;
  const h = (Number(hour) % 12) + (half === 'PM' ? 12 : 0);
  return Date.UTC(Number(year), Number(month) - 1, Number(day), h, Number(minute), Number(second));
}

export function formatInterval(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function isProductive(action: string, details: string): boolean {
  return action === 'ONLINE' || action === 'REMVCEON' || (action === 'OFFLINE' && details === 'BACKOFFICE');
}

/** `extension|interval start` -> [productive hours, distinct events in the interval]. */
export function expectedIntervals(events: readonly OracleEvent[]): Record<string, [number, number]> {
  const byExtension = new Map<string, Map<string, OracleEvent>>();
  for (const e of events) {
    const normalized = {
      ...e,
      action: e.action.trim().toUpperCase(),
      details: e.details.trim().toUpperCase(),
    };
    const key = `${normalized.at}|${normalized.action}|${normalized.details}`;
    const list = byExtension.get(e.extension) ?? new Map<string, OracleEvent>();
    list.set(key, normalized); // exact duplicates once
    byExtension.set(e.extension, list);
  }
  const ms = new Map<string, number>();
  const counts = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, value: number) =>
    map.set(key, (map.get(key) ?? 0) + value);
  for (const [extension, unique] of byExtension) {
    const sorted = [...unique.values()].sort(
      (a, b) =>
        a.at - b.at ||
        (a.action < b.action ? -1 : a.action > b.action ? 1 : 0) ||
        (a.details < b.details ? -1 : a.details > b.details ? 1 : 0),
    );
    sorted.forEach((event, i) => {
      const intervalOf = (t: number) => Math.floor(t / HALF_HOUR) * HALF_HOUR;
      add(counts, `${extension}|${formatInterval(intervalOf(event.at))}`, 1);
      if (!isProductive(event.action, event.details)) return;
      const end = sorted[i + 1]?.at ?? intervalOf(event.at) + HALF_HOUR;
      for (let t = event.at; t < end; ) {
        const boundary = intervalOf(t) + HALF_HOUR;
        const sliceEnd = Math.min(end, boundary);
        add(ms, `${extension}|${formatInterval(intervalOf(t))}`, sliceEnd - t);
        t = sliceEnd;
      }
    });
  }
  const result: Record<string, [number, number]> = {};
  for (const key of new Set([...ms.keys(), ...counts.keys()])) {
    result[key] = [Math.min((ms.get(key) ?? 0) / 3_600_000, 0.5), counts.get(key) ?? 0];
  }
  return result;
}
