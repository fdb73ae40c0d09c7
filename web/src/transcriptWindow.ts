// The part of a session's transcript this phone holds: a bounded window of its events, not the whole log. A session opens
// with its newest page (GET /api/sessions/{id}/events/page), follows the live stream from that page's lastSeq, pages back
// when the owner scrolls up, and drops the pages farthest from where they read: a session of 500,000 events costs the
// phone what one of a thousand does (docs/design.md, Scale).

import { emptySession, reduceSessionAll, type ServerEvent, type SessionView } from './events';

/** Events per page the app asks for (the server's default too). */
export const PAGE_SIZE = 200;
/** The most events the window holds: three pages. Past it, the pages farthest from the reader go. */
export const MAX_WINDOW = 3 * PAGE_SIZE;

export interface TranscriptWindow {
  /** Oldest first, gapless. */
  events: ServerEvent[];
  /** The seq to page back from (`before=`), or null when the window starts at the session's first event. */
  before: number | null;
  /**
   * Set when newer events were dropped to page back (the owner reads far up): the live stream's events are not held, and
   * `toLatest` reloads the newest page. Null while the window reaches the newest event.
   */
  newerDropped: number | null;
  /** The newest seq heard, held or not: where the live stream resumes. */
  lastSeq: number;
  /** What the screens show, folded from `events`. */
  view: SessionView;
}

/** A page as the server answers it. */
export interface EventPageLike { events: readonly ServerEvent[]; before: number | null; lastSeq: number }

export const emptyWindow = (): TranscriptWindow => ({ events: [], before: null, newerDropped: null, lastSeq: 0, view: emptySession() });

const fold = (events: ServerEvent[]): SessionView => reduceSessionAll(emptySession(), events);

/** The window on a session's newest page (opening it, or coming back to the latest after reading far up). */
export function openAt(page: EventPageLike): TranscriptWindow {
  const events = [...page.events];
  return { events, before: page.before, newerDropped: null, lastSeq: Math.max(page.lastSeq, 0), view: fold(events) };
}

/**
 * Live events (and a reconnect's replay): only those after `lastSeq` count. Held and folded while the window reaches the
 * newest event; past the bound, the oldest page goes (a whole page at a time, so the view is folded again once a page,
 * not once an event).
 */
export function addLive(window: TranscriptWindow, batch: readonly ServerEvent[]): TranscriptWindow {
  const fresh = batch.filter((e) => e.data.seq > window.lastSeq);
  if (fresh.length === 0) return window;
  const lastSeq = fresh[fresh.length - 1]!.data.seq;
  if (window.newerDropped !== null) return { ...window, lastSeq };
  const events = window.events.concat(fresh);
  if (events.length <= MAX_WINDOW + PAGE_SIZE) {
    return { ...window, events, lastSeq, view: reduceSessionAll(window.view, fresh) };
  }
  const kept = events.slice(events.length - MAX_WINDOW);
  return { ...window, events: kept, before: kept[0]!.data.seq, lastSeq, view: fold(kept) };
}

/** An older page, put before the window; past the bound, the newest events go (the reader is far from them). */
export function addOlder(window: TranscriptWindow, page: EventPageLike): TranscriptWindow {
  const first = window.events[0]?.data.seq ?? Number.POSITIVE_INFINITY;
  const older = page.events.filter((e) => e.data.seq < first);
  if (older.length === 0) return { ...window, before: page.before };
  let events = older.concat(window.events);
  let newerDropped = window.newerDropped;
  if (events.length > MAX_WINDOW) {
    events = events.slice(0, MAX_WINDOW);
    newerDropped = events[events.length - 1]!.data.seq + 1;
  }
  return { ...window, events, before: page.before, newerDropped, view: fold(events) };
}
