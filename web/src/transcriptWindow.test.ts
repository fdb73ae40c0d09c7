import { describe, expect, it } from 'vitest';
import type { ServerEvent } from './events';
import { addLive, addOlder, MAX_WINDOW, openAt, PAGE_SIZE, type EventPageLike } from './transcriptWindow';

const S = 'sess1';
const event = (seq: number): ServerEvent => ({ kind: 'message', data: { sessionId: S, seq, text: `message ${seq}` } });
const range = (from: number, to: number): ServerEvent[] => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

/** A server with `total` events answering pages as GET /api/sessions/{id}/events/page does. */
function pageOf(total: number, before?: number | null): EventPageLike {
  const end = Math.min(before ?? total + 1, total + 1) - 1;
  const start = Math.max(1, end - PAGE_SIZE + 1);
  const events = end >= 1 ? range(start, end) : [];
  return { events, before: start > 1 ? start : null, lastSeq: events.length ? end : 0 };
}

const seqs = (w: { events: ServerEvent[] }) => w.events.map((e) => e.data.seq);
const gapless = (list: number[]) => list.every((s, i) => i === 0 || s === list[i - 1]! + 1);

describe('transcript window', () => {
  it('opens on the newest page of a long session and holds only that page', () => {
    const w = openAt(pageOf(500_000));
    expect(w.events).toHaveLength(PAGE_SIZE);
    expect(seqs(w)[0]).toBe(500_000 - PAGE_SIZE + 1);
    expect(w.lastSeq).toBe(500_000);
    expect(w.view.items).toHaveLength(PAGE_SIZE);
    expect(w.before).toBe(500_000 - PAGE_SIZE + 1);
  });

  it('pages back without gaps or duplicates, and never holds more than the bound', () => {
    let w = openAt(pageOf(10_000));
    for (let i = 0; i < 10; i++) {
      w = addOlder(w, pageOf(10_000, w.before));
      expect(w.events.length).toBeLessThanOrEqual(MAX_WINDOW);
      expect(gapless(seqs(w))).toBe(true);
    }
    // Eleven pages back from the newest: the window holds the three farthest up, and knows newer ones were dropped.
    expect(seqs(w)[0]).toBe(10_000 - 11 * PAGE_SIZE + 1);
    expect(w.newerDropped).toBe(seqs(w)[MAX_WINDOW - 1]! + 1);
    // The same page again (a double tap) changes nothing.
    const again = addOlder(w, pageOf(10_000, seqs(w)[0]! + PAGE_SIZE));
    expect(seqs(again)).toEqual(seqs(w));
  });

  it('reaches the first event and says there is nothing before it', () => {
    let w = openAt(pageOf(450));
    w = addOlder(w, pageOf(450, w.before));
    w = addOlder(w, pageOf(450, w.before));
    expect(seqs(w)).toEqual(range(1, 450).map((e) => e.data.seq));
    expect(w.before).toBeNull();
  });

  it('follows live events with a bounded window however long the stream runs', () => {
    let w = openAt(pageOf(1_000));
    for (let seq = 1_001; seq <= 20_000; seq += 50) w = addLive(w, range(seq, seq + 49));
    expect(w.lastSeq).toBe(20_000);
    expect(w.events.length).toBeLessThanOrEqual(MAX_WINDOW + PAGE_SIZE);
    expect(seqs(w)[seqs(w).length - 1]).toBe(20_000);
    expect(gapless(seqs(w))).toBe(true);
    expect(w.before).toBe(seqs(w)[0]);
    expect(w.view.items.length).toBe(w.events.length);
  });

  it('takes a replay after a reconnect once: only the events after the last one it had', () => {
    let w = openAt(pageOf(300));
    w = addLive(w, range(301, 310));
    const replayed = addLive(w, range(295, 312));
    expect(seqs(replayed).slice(-12)).toEqual(range(301, 312).map((e) => e.data.seq));
    expect(gapless(seqs(replayed))).toBe(true);
    expect(addLive(replayed, range(1, 312))).toBe(replayed);
  });

  it('keeps counting live events while reading far up, without holding them', () => {
    let w = openAt(pageOf(2_000));
    for (let i = 0; i < 4; i++) w = addOlder(w, pageOf(2_000, w.before));
    const held = seqs(w);
    w = addLive(w, range(2_001, 2_100));
    expect(seqs(w)).toEqual(held);
    expect(w.lastSeq).toBe(2_100);
  });
});
