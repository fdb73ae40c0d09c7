// The transcripts of the last sessions opened on this phone, kept in IndexedDB so that a session opened without network
// still shows what it said (the dashboard's own snapshot, in store.ts, only has names and statuses). What is kept is the
// session's events as the server sent them, folded again by the same reducer on the way out: nothing to migrate when
// the view changes. Bounded (the last MAX_SESSIONS opened, MAX_SESSION_BYTES each, MAX_TOTAL_BYTES in all), and wiped
// when this phone is signed out (unpaired, or its device revoked): a transcript can hold code and secrets.

import type { Session } from './api';
import type { ServerEvent } from './events';
import { MAX_WINDOW, PAGE_SIZE } from './transcriptWindow';

export const MAX_SESSIONS = 20;
export const MAX_SESSION_BYTES = 2 * 1024 * 1024;
export const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

const DB_NAME = 'pocketcoder-offline';
const STORE = 'transcripts';

export interface SavedTranscript {
  id: string;
  session?: Session;
  events: ServerEvent[];
  /** When it was last opened on this phone: the oldest go first. */
  openedAt: number;
  /** Its size as stored (JSON characters), for the bounds. */
  bytes: number;
}

export interface OfflineStore {
  load(id: string): Promise<SavedTranscript | null>;
  save(id: string, session: Session | undefined, events: readonly ServerEvent[]): Promise<void>;
  clear(): Promise<void>;
}

const done = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const committed = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });

/** The newest events that fit in `limit` characters of JSON (the oldest are the ones a phone scrolls to least). */
export function boundEvents(events: readonly ServerEvent[], limit = MAX_SESSION_BYTES): { events: ServerEvent[]; bytes: number } {
  const sizes = events.map((e) => JSON.stringify(e).length + 1);
  let bytes = sizes.reduce((a, b) => a + b, 0);
  let first = 0;
  while (bytes > limit && first < events.length) bytes -= sizes[first++]!;
  return { events: events.slice(first), bytes };
}

/** The store on an IndexedDB (the browser's, or a stand-in in tests); every failure is swallowed into "nothing kept". */
export function openOfflineStore(factory: IDBFactory | undefined = globalThis.indexedDB, now: () => number = Date.now): OfflineStore {
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    if (!factory) return Promise.reject(new Error('no IndexedDB'));
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }).catch((e: unknown) => {
      db = undefined;
      throw e;
    });
    return db;
  };

  return {
    async load(id) {
      try {
        const tx = (await open()).transaction(STORE, 'readonly');
        const saved = (await done(tx.objectStore(STORE).get(id))) as SavedTranscript | undefined;
        return saved && Array.isArray(saved.events) ? saved : null;
      } catch {
        return null;
      }
    },
    async save(id, session, all) {
      try {
        const { events, bytes } = boundEvents(all);
        const tx = (await open()).transaction(STORE, 'readwrite');
        const store = tx.objectStore(STORE);
        store.put({ id, session, events, openedAt: now(), bytes } satisfies SavedTranscript);
        // Then the bounds: the least recently opened go until what is left fits.
        const kept = ((await done(store.getAll())) as SavedTranscript[]).sort((a, b) => b.openedAt - a.openedAt);
        let total = 0;
        kept.forEach((saved, n) => {
          total += saved.bytes;
          if (saved.id !== id && (n >= MAX_SESSIONS || total > MAX_TOTAL_BYTES)) store.delete(saved.id);
        });
        await committed(tx);
      } catch {
        // Storage full, private mode, or no IndexedDB: the session just is not readable offline.
      }
    },
    async clear() {
      try {
        const tx = (await open()).transaction(STORE, 'readwrite');
        tx.objectStore(STORE).clear();
        await committed(tx);
      } catch {
        // Nothing could be kept either.
      }
    },
  };
}

let shared: OfflineStore | undefined;
/** The browser's store, opened on first use. */
export const offlineStore = (): OfflineStore => (shared ??= openOfflineStore());

/**
 * What the session screen keeps while it is open: the newest events it received, at most a window's worth
 * (transcriptWindow.ts), by seq so a replay over a restored copy never doubles; written a moment after the last change and when the screen closes. `restored` is the copy from the
 * last visit, if any, with what arrived since merged in.
 */
export interface TranscriptKeeper {
  restored: Promise<SavedTranscript | null>;
  add(events: readonly ServerEvent[]): void;
  session(session: Session): void;
  close(): Promise<void>;
}

export function keepTranscript(id: string, store: OfflineStore = offlineStore(), delayMs = 1000, keep = MAX_WINDOW): TranscriptKeeper {
  const bySeq = new Map<number, ServerEvent>();
  let session: Session | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dirty = false;
  let closed = false;

  const write = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!dirty) return Promise.resolve();
    dirty = false;
    const events = [...bySeq.values()].sort((a, b) => a.data.seq - b.data.seq);
    return store.save(id, session, events);
  };
  const later = () => {
    dirty = true;
    if (!closed && timer === undefined) timer = setTimeout(() => void write(), delayMs);
  };

  const restored = store.load(id).then((saved) => {
    if (!saved) return null;
    for (const event of saved.events) if (!bySeq.has(event.data.seq)) bySeq.set(event.data.seq, event);
    session ??= saved.session;
    return saved;
  });

  return {
    restored,
    add(events) {
      for (const event of events) bySeq.set(event.data.seq, event);
      // The copy is the newest part of the transcript, as bounded as what the screen holds (transcriptWindow.ts): a long
      // session does not fill the phone's storage, nor its memory while the screen is open.
      if (bySeq.size > keep + PAGE_SIZE) {
        const seqs = [...bySeq.keys()].sort((a, b) => a - b);
        for (const seq of seqs.slice(0, seqs.length - keep)) bySeq.delete(seq);
      }
      if (events.length > 0) later();
    },
    session(fresh) {
      session = fresh;
      later();
    },
    async close() {
      closed = true;
      await restored;
      await write();
    },
  };
}
