// Schedules as people say them ("every weekday at 9:00"), turned into the five-field cron the server stores, and the next
// times a cron expression gives, worked out here so the owner sees them before saving. The server (Cronos) stays the
// authority on what runs; this reads the same standard syntax: * , - / in each field, month and weekday names, 7 = Sunday.

export type Repeat = 'weekdays' | 'daily' | 'weekly' | 'hourly' | 'custom';

export interface RepeatChoice { repeat: Repeat; time: string; weekday: number; minute: number; custom: string }

export const REPEATS: { id: Repeat; label: string }[] = [
  { id: 'weekdays', label: 'Every weekday' },
  { id: 'daily', label: 'Every day' },
  { id: 'weekly', label: 'Every week' },
  { id: 'hourly', label: 'Every hour' },
  { id: 'custom', label: 'Custom (cron)' },
];

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The cron expression a choice stands for ("09:30" on weekdays is `30 9 * * 1-5`). */
export function cronOf(choice: RepeatChoice): string {
  const [h, m] = choice.time.split(':').map((n) => Number.parseInt(n, 10));
  const hour = Number.isFinite(h) ? h! : 9;
  const minute = Number.isFinite(m) ? m! : 0;
  switch (choice.repeat) {
    case 'weekdays': return `${minute} ${hour} * * 1-5`;
    case 'daily': return `${minute} ${hour} * * *`;
    case 'weekly': return `${minute} ${hour} * * ${choice.weekday}`;
    case 'hourly': return `${choice.minute} * * * *`;
    case 'custom': return choice.custom.trim();
  }
}

/** The choice a stored expression reads as, when it is one of the presets; otherwise a custom one. */
export function choiceOf(cron: string): RepeatChoice {
  const base: RepeatChoice = { repeat: 'custom', time: '09:00', weekday: 1, minute: 0, custom: cron.trim() };
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5 || !parts.slice(0, 2).every((p) => p === '*' || /^\d+$/.test(p))) return base;
  const [min, hour, dom, month, dow] = parts as [string, string, string, string, string];
  if (dom !== '*' || month !== '*') return base;
  if (hour === '*' && dow === '*' && /^\d+$/.test(min)) return { ...base, repeat: 'hourly', minute: Number(min) };
  if (hour === '*' || min === '*') return base;
  const time = `${hour.padStart(2, '0')}:${min.padStart(2, '0')}`;
  if (dow === '1-5') return { ...base, repeat: 'weekdays', time };
  if (dow === '*') return { ...base, repeat: 'daily', time };
  if (/^[0-6]$/.test(dow)) return { ...base, repeat: 'weekly', time, weekday: Number(dow) };
  return base;
}

const NAMES: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
  sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
};

/** The values one field allows, or null when it is not valid cron. */
function field(text: string, min: number, max: number): Set<number> | null {
  const values = new Set<number>();
  const value = (s: string): number => (/^\d+$/.test(s) ? Number(s) : NAMES[s.toLowerCase()] ?? NaN);
  for (const part of text.split(',')) {
    const match = /^(\*|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:\/(\d+))?$/i.exec(part);
    if (!match) return null;
    const step = match[4] ? Number(match[4]) : 1;
    let from = min;
    let to = max;
    if (match[1] !== '*') {
      from = value(match[2]!);
      to = match[3] ? value(match[3]) : match[4] ? max : from;
    }
    if (!Number.isFinite(from) || !Number.isFinite(to) || from < min || to > max || from > to || step < 1) return null;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

interface Parsed { minutes: Set<number>; hours: Set<number>; days: Set<number>; months: Set<number>; weekdays: Set<number>; anyDay: boolean; anyWeekday: boolean }

export function parseCron(cron: string): Parsed | null {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5) return null;
  const [minutes, hours, days, months, weekdays] = [
    field(parts[0]!, 0, 59), field(parts[1]!, 0, 23), field(parts[2]!, 1, 31), field(parts[3]!, 1, 12), field(parts[4]!, 0, 7),
  ];
  if (!minutes || !hours || !days || !months || !weekdays) return null;
  if (weekdays.has(7)) weekdays.add(0);
  return { minutes, hours, days, months, weekdays, anyDay: parts[2]!.startsWith('*'), anyWeekday: parts[4]!.startsWith('*') };
}

/** The wall-clock parts of an instant in a time zone. */
const formats = new Map<string, Intl.DateTimeFormat>();
function wall(at: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    formats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute') };
}

/** The instant a wall-clock time in a zone names, or null when the clocks skip it (a DST gap). */
function instant(y: number, mo: number, d: number, h: number, mi: number, zone: string): number | null {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  for (const guess of [asUtc, asUtc - 36e5 * 14, asUtc + 36e5 * 14]) {
    const w = wall(guess, zone);
    const offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi) - guess;
    const at = asUtc - offset;
    const back = wall(at, zone);
    if (back.y === y && back.mo === mo && back.d === d && back.h === h && back.mi === mi) return at;
  }
  return null;
}

/**
 * The next `count` times (after `from`) the expression gives in `zone`, or null when it is not valid cron (or the zone is
 * unknown). Day of month and day of week, both restricted, match either (as cron has always read them).
 */
export function nextRuns(cron: string, zone: string, from: Date, count = 3): Date[] | null {
  const parsed = parseCron(cron);
  if (!parsed) return null;
  let start;
  try {
    start = wall(from.getTime(), zone);
  } catch {
    return null;
  }
  const runs: Date[] = [];
  // Day by day in the zone's calendar; five years covers every valid expression (29 February included).
  const day = new Date(Date.UTC(start.y, start.mo - 1, start.d));
  for (let i = 0; i < 366 * 5 && runs.length < count; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    const [y, mo, d, dow] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), day.getUTCDay()];
    if (!parsed.months.has(mo)) continue;
    const domOk = parsed.days.has(d);
    const dowOk = parsed.weekdays.has(dow);
    const dayOk = parsed.anyDay || parsed.anyWeekday ? domOk && dowOk : domOk || dowOk;
    if (!dayOk) continue;
    for (const h of [...parsed.hours].sort((a, b) => a - b)) {
      for (const mi of [...parsed.minutes].sort((a, b) => a - b)) {
        if (i === 0 && (h < start.h || (h === start.h && mi < start.mi))) continue;
        const at = instant(y, mo, d, h, mi, zone);
        if (at !== null && at > from.getTime()) runs.push(new Date(at));
        if (runs.length === count) return runs;
      }
    }
  }
  return runs;
}

/** A run as the owner reads it: "Mon 3 Jun, 09:00", in the schedule's zone. */
export function runLabel(at: Date, zone: string): string {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

/** The choice in words, for the options' summary line. */
export function repeatLabel(choice: RepeatChoice): string {
  switch (choice.repeat) {
    case 'weekdays': return `Weekdays at ${choice.time}`;
    case 'daily': return `Daily at ${choice.time}`;
    case 'weekly': return `${WEEKDAYS[choice.weekday]}s at ${choice.time}`;
    case 'hourly': return `Hourly at :${String(choice.minute).padStart(2, '0')}`;
    case 'custom': return choice.custom.trim() || 'Custom';
  }
}
