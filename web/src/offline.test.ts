import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Session } from './api';
import { emptySession, reduceSessionAll, type ServerEvent } from './events';
import { boundEvents, keepTranscript, MAX_SESSIONS, openOfflineStore } from './offline';
import { PAGE_SIZE } from './transcriptWindow';

const ev = (sessionId: string, seq: number, kind = 'message', text = `said ${seq}`): ServerEvent => ({ kind, data: { sessionId, seq, text } });
const session = (id: string) => ({ id, title: `Session ${id}`, status: 'idle' }) as unknown as Session;

describe('the offline store', () => {
  it('gives back what was saved: the events fold into the same transcript', async () => {
    const store = openOfflineStore(new IDBFactory());
    const events = [ev('a', 1, 'message.user', 'Hello'), ev('a', 2, 'message', 'Hi there')];
    await store.save('a', session('a'), events);
    const saved = await store.load('a');
    expect(saved?.session?.title).toBe('Session a');
    const view = reduceSessionAll(emptySession(), saved!.events);
    expect(view.items.map((i) => (i as { text: string }).text)).toEqual(['Hello', 'Hi there']);
    expect(await store.load('b')).toBeNull();
  });

  it('keeps only the last sessions opened, the oldest going first', async () => {
    let clock = 0;
    const store = openOfflineStore(new IDBFactory(), () => ++clock);
    for (let n = 0; n < MAX_SESSIONS + 3; n++) await store.save(`s${n}`, undefined, [ev(`s${n}`, 1)]);
    expect(await store.load('s0')).toBeNull();
    expect(await store.load('s2')).toBeNull();
    expect(await store.load('s3')).not.toBeNull();
    expect(await store.load(`s${MAX_SESSIONS + 2}`)).not.toBeNull();
    // Opened again (saved again), an old one is the newest and stays.
    await store.save('s3', undefined, [ev('s3', 1)]);
    await store.save('new', undefined, [ev('new', 1)]);
    expect(await store.load('s3')).not.toBeNull();
    expect(await store.load('s4')).toBeNull();
  });

  it('bounds a long session by size, keeping its newest events', () => {
    const events = Array.from({ length: 100 }, (_, n) => ev('a', n + 1, 'message', 'x'.repeat(100)));
    const { events: kept, bytes } = boundEvents(events, 1000);
    expect(bytes).toBeLessThanOrEqual(1000);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.at(-1)!.data.seq).toBe(100);
    expect(kept[0]!.data.seq).toBe(100 - kept.length + 1);
  });

  it('is emptied on sign-out', async () => {
    const store = openOfflineStore(new IDBFactory());
    await store.save('a', undefined, [ev('a', 1)]);
    await store.clear();
    expect(await store.load('a')).toBeNull();
  });

  it('without IndexedDB keeps nothing and fails nothing', async () => {
    const store = openOfflineStore(undefined);
    await store.save('a', undefined, [ev('a', 1)]);
    expect(await store.load('a')).toBeNull();
  });
});

describe('keepTranscript', () => {
  it('merges the restored copy with what the stream sends, by seq, and writes it back on close', async () => {
    const store = openOfflineStore(new IDBFactory());
    await store.save('a', session('a'), [ev('a', 1), ev('a', 2)]);
    const keeper = keepTranscript('a', store, 10_000);
    keeper.add([ev('a', 2), ev('a', 3)]); // the replay overlaps the copy
    expect((await keeper.restored)?.events.length).toBe(2);
    await keeper.close();
    const saved = await store.load('a');
    expect(saved?.events.map((e) => e.data.seq)).toEqual([1, 2, 3]);
    expect(saved?.session?.title).toBe('Session a');
  });

  it('holds only the newest window of a long stream, in memory as in the copy', async () => {
    const store = openOfflineStore(new IDBFactory());
    const keeper = keepTranscript('c', store, 10_000, 300);
    for (let seq = 1; seq <= 5_000; seq += 100) keeper.add(Array.from({ length: 100 }, (_, i) => ev('c', seq + i)));
    await keeper.close();
    const seqs = (await store.load('c'))!.events.map((e) => e.data.seq);
    expect(seqs.length).toBeLessThanOrEqual(300 + PAGE_SIZE);
    expect(seqs[seqs.length - 1]).toBe(5_000);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
  });

  it('writes a moment after the last change, without waiting for the screen to close', async () => {
    const store = openOfflineStore(new IDBFactory());
    const keeper = keepTranscript('b', store, 5);
    keeper.session(session('b'));
    keeper.add([ev('b', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.load('b'))?.events.length).toBe(1);
    await keeper.close();
  });
});
